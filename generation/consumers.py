"""WebSocket consumers: one job (its owner, or anyone when shared live) and the public live stream."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from generation.messages import live_state_message
from generation.realtime import LIVE_GROUP, job_group, job_latest_message
from generation.selectors import job_state_message, job_watchable_by, jobs_live_state
from visionary.outages import DEPENDENCY_ERRORS, outage_log

CLOSE_FORBIDDEN = 4403
# RFC 6455 "Try Again Later": the channel layer (Redis) is unreachable; the page's script retries.
CLOSE_TRY_AGAIN_LATER = 1013


async def _group_join(consumer: AsyncJsonWebsocketConsumer, group: str) -> bool:
    """Adds the socket to ``group``; with the channel layer down, closes it with 1013 instead."""
    try:
        await consumer.channel_layer.group_add(group, consumer.channel_name)
    except DEPENDENCY_ERRORS as error:
        outage_log(f"WebSocket {consumer.scope['path']}", error)
        await consumer.close(code=CLOSE_TRY_AGAIN_LATER)
        return False
    return True


class JobConsumer(AsyncJsonWebsocketConsumer):
    job_id: int
    group: str | None = None

    async def connect(self) -> None:
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        job = await database_sync_to_async(job_watchable_by)(
            user=self.scope["user"], job_id=self.job_id
        )
        if job is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join before reading the state, so nothing published in between is lost.
        if not await _group_join(self, job_group(self.job_id)):
            return
        self.group = job_group(self.job_id)
        await self.accept()
        await job.arefresh_from_db()
        await self.send_json(await database_sync_to_async(job_state_message)(job=job))
        if job.state == job.State.RUNNING:
            preview = await database_sync_to_async(job_latest_message)(self.job_id, "preview")
            if preview is not None:
                await self.send_json(preview)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen; commands (cancel) go through HTTP."""

    async def job_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """/ws/live/: every generation its owner shares live, for anyone watching /live."""

    joined = False

    async def connect(self) -> None:
        if not await _group_join(self, LIVE_GROUP):
            return
        self.joined = True
        await self.accept()
        jobs = await database_sync_to_async(jobs_live_state)()
        await self.send_json(live_state_message(jobs))

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(LIVE_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Watchers only listen."""

    async def job_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])
