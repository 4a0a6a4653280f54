"""Pushes to a job's WebSocket group. The latest message is also kept in the shared cache, so a
client that connects late or reconnects gets the current state at once."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

logger = logging.getLogger(__name__)
LATEST_TTL_SECONDS = 3600


def job_group(job_id: int) -> str:
    return f"job.{job_id}"


def _latest_key(job_id: int, slot: str) -> str:
    return f"job:{job_id}:{slot}"


def job_latest_message(job_id: int, slot: str = "latest") -> dict[str, Any] | None:
    message: dict[str, Any] | None = cache.get(_latest_key(job_id, slot))
    return message


LIVE_GROUP = "live"


def job_publish(
    job_id: int,
    message: dict[str, Any],
    *,
    latest_key: str = "latest",
    live: dict[str, Any] | None = None,
) -> None:
    """Store and broadcast one message; a broken channel layer never fails the job.

    Previews are kept in their own slot, so the latest state stays the latest progress. For a job
    its owner shares live, ``live`` is the copy for the public /ws/live/ stream (never carrying
    private picture URLs)."""
    cache.set(_latest_key(job_id, latest_key), message, timeout=LATEST_TTL_SECONDS)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            job_group(job_id), {"type": "job.message", "message": message}
        )
        if live is not None:
            async_to_sync(layer.group_send)(
                LIVE_GROUP, {"type": "job.message", "message": {**live, "job": job_id}}
            )
    except Exception:
        logger.exception("could not push a job message", extra={"job_id": job_id})
