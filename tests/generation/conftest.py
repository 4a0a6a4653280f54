"""WebSocket fixtures: sockets opened by a test are always closed before its event loop ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from generation.routing import websocket_urlpatterns

OpenSocket = Callable[..., WebsocketCommunicator]
CLOSE_TIMEOUT_SECONDS = 5.0


@pytest.fixture
async def open_socket() -> AsyncIterator[OpenSocket]:
    """Open a WebSocket on the generation routes (or on ``application``) as ``user``.

    At the end of the test every socket is disconnected, refused ones too (their consumer still
    runs until it hears the disconnect), and the channel layer's Redis connections for this loop
    are closed, so nothing is left for the loop's shutdown to cancel. A consumer that does not
    stop within CLOSE_TIMEOUT_SECONDS fails the test instead of hanging it."""
    opened: list[WebsocketCommunicator] = []

    def open_(
        path: str,
        user: Any = None,
        *,
        application: Any = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(
            application or URLRouter(websocket_urlpatterns), path, headers=headers
        )
        communicator.scope["user"] = user or AnonymousUser()
        opened.append(communicator)
        return communicator

    yield open_

    stuck = []
    for communicator in opened:
        future = communicator._future  # None: never connected (``.future`` would start it now)
        if future is None or future.done():
            continue
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
                await asyncio.shield(future)
        except TimeoutError:
            stuck.append(communicator.scope["path"])
            future.cancel()
        except Exception as error:  # a consumer that fails on disconnect is a bug too
            stuck.append(f"{communicator.scope['path']}: {error!r}")
    layer = get_channel_layer()
    if layer is not None and hasattr(layer, "close_pools"):
        # Closing this loop's Redis connections also ends a receive that ignored its cancel.
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            await layer.close_pools()
    assert not stuck, f"consumers did not stop cleanly within {CLOSE_TIMEOUT_SECONDS} s: {stuck}"


@pytest.fixture
def sdapi_jobs_run_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """An /sdapi call's wait runs its queued jobs here (no worker in the suite), then waits for
    them as the real wait does."""
    from asgiref.sync import sync_to_async

    from generation.sdapi import services as sdapi_services
    from generation.worker.execute import job_run

    real_wait = sdapi_services.jobs_wait

    async def wait(*, job_ids: list[int], timeout: float) -> None:
        for job_id in job_ids:
            await sync_to_async(job_run)(job_id=job_id, worker="test")
        await real_wait(job_ids=job_ids, timeout=timeout)

    monkeypatch.setattr(sdapi_services, "jobs_wait", wait)
