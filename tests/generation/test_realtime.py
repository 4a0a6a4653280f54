"""Pushing job messages: a channel layer that fails or stops answering never stalls the job."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from generation import realtime
from generation.realtime import job_latest_message, job_publish


class _UnansweringLayer:
    """A channel layer whose sends never complete, as a Redis command stuck on a dead socket."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await asyncio.Event().wait()


class _BrokenLayer:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        raise ConnectionError("channel layer unreachable")


def test_a_channel_layer_that_never_answers_is_given_up_on(monkeypatch, caplog):
    monkeypatch.setattr(realtime, "get_channel_layer", _UnansweringLayer)
    monkeypatch.setattr(realtime, "PUBLISH_TIMEOUT_SECONDS", 0.2)
    message = {"type": "progress", "step": 2, "total": 4, "eta_s": 1}
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="generation.realtime"):
        job_publish(4101, message)
    assert time.monotonic() - started < 5
    assert "did not take job messages" in caplog.text
    assert caplog.records[-1].job_ids == [4101]
    # The latest state is still there for a client that connects now.
    assert job_latest_message(4101) == message


def test_a_broken_channel_layer_is_logged_and_the_job_goes_on(monkeypatch, caplog):
    monkeypatch.setattr(realtime, "get_channel_layer", _BrokenLayer)
    message = {"type": "progress", "step": 1, "total": 4, "eta_s": 1}
    with caplog.at_level(logging.ERROR, logger="generation.realtime"):
        job_publish(4102, message)
    assert "could not push job messages" in caplog.text
    assert job_latest_message(4102) == message
