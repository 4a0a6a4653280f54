"""The embedded channel layer delivers messages sent from another thread (the worker's)."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import async_to_sync

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
