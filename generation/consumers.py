"""WebSocket consumers: one job (its owner, or anyone when shared live) and the public live stream."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from generation.messages import live_state_message
from generation.realtime import LIVE_GROUP, job_group, job_latest_message
from generation.selectors import job_state_message, job_watchable_by, jobs_live_state

CLOSE_FORBIDDEN = 4403


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
        self.group = job_group(self.job_id)
        # Join before reading the state, so nothing published in between is lost.
        await self.channel_layer.group_add(self.group, self.channel_name)
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

    async def connect(self) -> None:
        await self.channel_layer.group_add(LIVE_GROUP, self.channel_name)
        await self.accept()
        jobs = await database_sync_to_async(jobs_live_state)()
        await self.send_json(live_state_message(jobs))

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(LIVE_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Watchers only listen."""

    async def job_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])
