"""A burst of /live watchers on the Redis channel layer: every socket connects, none fails with
redis-py's MaxConnectionsError (its asyncio pool raises past its size instead of waiting)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

WATCHERS = 150  # more than redis-py's default pool of 100


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A redis-server of this test's own on a free loopback port, stopped afterwards."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    process = subprocess.Popen([*command, "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not listen on 127.0.0.1:{port} within 5 s")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=5)


async def test_a_burst_of_live_watchers_all_connect(redis_url, open_socket):
    host = {**settings.REDIS_CHANNEL_HOST, "address": redis_url}
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": "burst-test"},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        sockets = [open_socket("/ws/live/") for _ in range(WATCHERS)]
        async with asyncio.timeout(15):
            results = await asyncio.gather(
                *(s.connect(timeout=10) for s in sockets), return_exceptions=True
            )
        connected = sum(1 for result in results if result == (True, None))
        failures = {repr(r) for r in results if isinstance(r, BaseException)}
        assert connected == WATCHERS, f"{connected}/{WATCHERS} connected; {failures}"
