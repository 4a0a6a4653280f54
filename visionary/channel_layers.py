"""An in-process channel layer that also delivers messages sent from other threads.

channels' InMemoryChannelLayer puts messages into asyncio queues of whichever event loop
sends them, so a group_send from the embedded Celery worker thread (async_to_sync) never
wakes a consumer waiting on the server's loop. This subclass remembers each receiver's loop
and performs the put on that loop."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import InMemoryChannelLayer


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._receiver_loops: dict[str, asyncio.AbstractEventLoop] = {}

    async def receive(self, channel: str) -> dict[str, Any]:
        self._receiver_loops[channel] = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        loop = self._receiver_loops.get(channel)
        if loop is None or loop.is_closed() or loop is asyncio.get_running_loop():
            await super().send(channel, message)
            return
        handover = asyncio.run_coroutine_threadsafe(
            InMemoryChannelLayer.send(self, channel, message), loop
        )
        await asyncio.wrap_future(handover)

    async def group_discard(self, group: str, channel: str) -> None:
        await super().group_discard(group, channel)
        if not any(channel in members for members in self.groups.values()):
            self._receiver_loops.pop(channel, None)

    async def flush(self) -> None:
        await super().flush()
        self._receiver_loops = {}
