"""Pushes to a job's WebSocket group. The latest message is also kept in the shared cache, so a
client that connects late or reconnects gets the current state at once."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

from generation.messages import JobMessage, LiveMessage

logger = logging.getLogger(__name__)
LATEST_TTL_SECONDS = 3600
# A channel layer that stops answering (a Redis command that never completes) must not stall the
# worker's job: a push gives up after this long and the job goes on.
PUBLISH_TIMEOUT_SECONDS = 5.0
# Set while the latest-state cache is failing, so an outage is logged once, not at every step.
_latest_store_failing = False


def job_group(job_id: int) -> str:
    return f"job.{job_id}"


def _latest_key(job_id: int, slot: str) -> str:
    return f"job:{job_id}:{slot}"


def job_latest_message(job_id: int, slot: str = "latest") -> dict[str, Any] | None:
    message: dict[str, Any] | None = cache.get(_latest_key(job_id, slot))
    return message


LIVE_GROUP = "live"


@dataclass(frozen=True)
class Publication:
    """One message for one job's group (and, for a job shared live, its copy for /ws/live/)."""

    job_id: int
    message: JobMessage
    latest_key: str = "latest"
    live: LiveMessage | None = None


def job_publish(
    job_id: int,
    message: JobMessage,
    *,
    latest_key: str = "latest",
    live: LiveMessage | None = None,
) -> None:
    """Store and broadcast one message; a broken channel layer never fails the job.

    Previews are kept in their own slot, so the latest state stays the latest progress. For a job
    its owner shares live, ``live`` is the copy for the public /ws/live/ stream (never carrying
    private picture URLs)."""
    jobs_publish([Publication(job_id, message, latest_key, live)])


def _latest_store(publications: list[Publication]) -> None:
    """Keep the latest messages for late joiners; best-effort: a cache outage (a Redis restart)
    costs late joiners the current state, never the job. Logged once per outage."""
    global _latest_store_failing
    try:
        cache.set_many(
            {_latest_key(p.job_id, p.latest_key): p.message for p in publications},
            timeout=LATEST_TTL_SECONDS,
        )
    except Exception:
        if not _latest_store_failing:
            _latest_store_failing = True
            logger.warning(
                "could not store the latest job messages; pushing them anyway",
                exc_info=True,
                extra={"job_ids": [p.job_id for p in publications]},
            )
        return
    if _latest_store_failing:
        _latest_store_failing = False
        logger.info("the latest job messages are stored again")


def jobs_publish(publications: list[Publication]) -> None:
    """Store and broadcast several messages with one cache write and one hop to the event loop:
    a batched call reports every job's step at once, and each sync-to-async hop costs a thread.
    The broadcast is bounded by PUBLISH_TIMEOUT_SECONDS; the cache keeps the latest state."""
    if not publications:
        return
    _latest_store(publications)
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            for p in publications:
                await layer.group_send(
                    job_group(p.job_id), {"type": "job.message", "message": p.message}
                )
                if p.live is not None:
                    await layer.group_send(
                        LIVE_GROUP,
                        {"type": "job.message", "message": {**p.live, "job": p.job_id}},
                    )

    try:
        async_to_sync(send_all)()
    except TimeoutError:
        logger.warning(
            "channel layer did not take job messages within %.0f s",
            PUBLISH_TIMEOUT_SECONDS,
            extra={"job_ids": [p.job_id for p in publications]},
        )
    except Exception:
        logger.exception(
            "could not push job messages", extra={"job_ids": [p.job_id for p in publications]}
        )
