"""The channel layers: the embedded one delivers messages sent from another thread (the
worker's); the configured one stops a cancelled receive at once, whenever the cancel lands."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

from visionary.channel_layers import ThreadSafeInMemoryChannelLayer


def _receive_in_own_loop(layer, channel: str, ready: threading.Event, result: dict) -> None:
    """Wait with no timer of its own: only a proper hand-over can wake this loop."""

    async def main() -> None:
        result["loop"] = asyncio.get_running_loop()
        task = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)
        ready.set()
        result["message"] = await task

    asyncio.run(main())


def _from_worker_thread(send, *args) -> None:
    """Send the way the embedded Celery worker does: async_to_sync from a thread of its own."""
    sender = threading.Thread(target=lambda: async_to_sync(send)(*args))
    sender.start()
    sender.join(5)


def _join(receiver: threading.Thread, result: dict) -> None:
    receiver.join(3)
    if receiver.is_alive():  # not delivered: nudge the loop so the thread can end, then fail
        result["nudged"] = True
        result["loop"].call_soon_threadsafe(lambda: None)
        receiver.join(3)
    result.pop("loop")


def test_send_from_another_thread_wakes_an_idle_receiver():
    layer = ThreadSafeInMemoryChannelLayer()
    channel = "specific.test!receiver"
    ready, result = threading.Event(), {}
    receiver = threading.Thread(
        target=_receive_in_own_loop, args=(layer, channel, ready, result), daemon=True
    )
    receiver.start()
    assert ready.wait(3)
    _from_worker_thread(layer.send, channel, {"type": "job.message", "n": 1})
    _join(receiver, result)
    assert result == {"message": {"type": "job.message", "n": 1}}


def test_group_send_from_another_thread_reaches_members():
    layer = ThreadSafeInMemoryChannelLayer()
    channel = "specific.test!member"
    async_to_sync(layer.group_add)("job.1", channel)
    ready, result = threading.Event(), {}
    receiver = threading.Thread(
        target=_receive_in_own_loop, args=(layer, channel, ready, result), daemon=True
    )
    receiver.start()
    assert ready.wait(3)
    _from_worker_thread(layer.group_send, "job.1", {"type": "job.message", "n": 2})
    _join(receiver, result)
    assert result == {"message": {"type": "job.message", "n": 2}}


# From "before the connection opens" to "blocked in the pop", in steps finer than one round trip.
CANCEL_DELAYS_S = [step * 0.0002 for step in range(25)]


@pytest.mark.asyncio
async def test_a_cancelled_receive_stops_whenever_the_cancel_lands():
    """A consumer that disconnects cancels its receive. With a socket timeout, redis-py writes
    through asyncio.wait_for, which on Python 3.11 drops a cancel that lands as a write completes:
    the receive then never stops (and held the test run until its time limit)."""
    stuck = []
    for delay in CANCEL_DELAYS_S:
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)  # a new, unconnected pool
        receive = asyncio.ensure_future(layer.receive(await layer.new_channel()))
        await asyncio.sleep(delay)
        receive.cancel()
        started = time.monotonic()
        done, _ = await asyncio.wait([receive], timeout=2)
        if not done:
            stuck.append(f"{delay * 1000:.1f} ms")
        else:
            assert receive.cancelled(), receive
            assert time.monotonic() - started < 1
        if hasattr(layer, "close_pools"):
            await layer.close_pools()  # also ends a stuck receive: its connection is closed
        await asyncio.wait([receive], timeout=2)
    assert not stuck, f"receives cancelled after these delays never stopped: {stuck}"
