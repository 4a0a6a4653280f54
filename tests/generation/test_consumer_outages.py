"""WebSockets with the channel layer (Redis) down: the handshake is refused with 1013 "try again
later" and a warning, never a traceback."""

from __future__ import annotations

import logging

import pytest
import redis.exceptions
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from generation.consumers import CLOSE_TRY_AGAIN_LATER
from tests.generation.factories import GenerationJobFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def layer_down(monkeypatch):
    async def group_add(group: str, channel: str) -> None:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(get_channel_layer(), "group_add", group_add)


async def test_live_socket_closes_with_try_again_later(open_socket, layer_down, caplog):
    communicator = open_socket("/ws/live/")

    with caplog.at_level(logging.WARNING, logger="visionary.dependencies"):
        connected, code = await communicator.connect(timeout=5)

    assert (connected, code) == (False, CLOSE_TRY_AGAIN_LATER)
    assert "WebSocket /ws/live/: a service is unavailable" in caplog.text


async def test_job_socket_closes_with_try_again_later(open_socket, layer_down):
    job = await database_sync_to_async(GenerationJobFactory)()
    communicator = open_socket(f"/ws/jobs/{job.pk}/", job.user)

    connected, code = await communicator.connect(timeout=5)

    assert (connected, code) == (False, 1013)
