"""A waiting /sdapi/v1/txt2img call holds no thread and no connection: it is woken by its job's
own realtime message, looks at the database every few seconds as the safety net, and still ends
when the channel layer is down."""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from pathlib import Path

import pytest
import redis.exceptions
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.test import AsyncClient

from generation.models import GenerationJob
from generation.realtime import job_group
from generation.sdapi import services as sdapi_services
from tests.accounts.factories import PASSWORD
from tests.modelhub.factories import ModelFileFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
SDAPI_DIR = Path(sdapi_services.__file__).parent
CALLS = 6


@pytest.fixture
def basic(member) -> dict[str, str]:
    ModelFileFactory(version__is_default=True)
    raw = base64.b64encode(f"{member.username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _call(client: AsyncClient, basic: dict[str, str], n: int):
    return client.post(
        "/sdapi/v1/txt2img",
        {"prompt": f"a red circle {n}", "steps": 2, "seed": n},
        content_type="application/json",
        headers=basic,
    )


async def _queued_jobs(count: int, within: float = 30.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        ids = await sync_to_async(list)(
            GenerationJob.objects.filter(state=GenerationJob.State.QUEUED).values_list(
                "pk", flat=True
            )
        )
        if len(ids) >= count:
            return ids
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(ids)} of {count} calls queued a job")


def _threads_inside_sdapi() -> list[str]:
    """Threads whose stack is in the sdapi package now (a blocking wait would be one)."""
    found = []
    for thread_id, frame in sys._current_frames().items():
        walker = frame
        while walker is not None:
            if Path(walker.f_code.co_filename).parent == SDAPI_DIR:
                found.append(f"{thread_id}: {walker.f_code.co_name}")
                break
            walker = walker.f_back
    return found


async def _finish(job_ids: list[int], *, announce: bool) -> None:
    await GenerationJob.objects.filter(pk__in=job_ids).aupdate(state=GenerationJob.State.CANCELLED)
    if announce:
        layer = get_channel_layer()
        for job_id in job_ids:
            await layer.group_send(
                job_group(job_id), {"type": "job.message", "message": {"type": "cancelled"}}
            )


async def test_waiting_calls_hold_no_thread_and_wake_on_their_jobs_message(basic, monkeypatch):
    monkeypatch.setattr(sdapi_services, "WAIT_CHECK_SECONDS", 60.0)  # only the message wakes
    client = AsyncClient()
    calls = [asyncio.ensure_future(_call(client, basic, n)) for n in range(CALLS)]
    job_ids = await _queued_jobs(CALLS)
    await asyncio.sleep(0.2)  # every call is past its submission, waiting
    assert _threads_inside_sdapi() == []
    assert not any(call.done() for call in calls)

    started = time.monotonic()
    await _finish(job_ids, announce=True)
    responses = await asyncio.wait_for(asyncio.gather(*calls), timeout=20)
    assert time.monotonic() - started < 10
    for response in responses:
        assert response.status_code == 200, response.content
        assert response.json()["images"] == []
        assert '"interrupted": true' in response.json()["info"]


async def test_a_lost_message_costs_one_safety_net_look(basic, monkeypatch):
    monkeypatch.setattr(sdapi_services, "WAIT_CHECK_SECONDS", 0.3)
    call = asyncio.ensure_future(_call(AsyncClient(), basic, 1))
    job_ids = await _queued_jobs(1)
    await _finish(job_ids, announce=False)  # the job ended, its message never came
    response = await asyncio.wait_for(call, timeout=10)
    assert response.status_code == 200


async def test_with_the_channel_layer_down_the_call_still_ends(basic, monkeypatch, caplog):
    async def group_add(group: str, channel: str) -> None:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(get_channel_layer(), "group_add", group_add)
    monkeypatch.setattr(sdapi_services, "WAIT_CHECK_SECONDS", 0.3)
    call = asyncio.ensure_future(_call(AsyncClient(), basic, 2))
    job_ids = await _queued_jobs(1)
    await _finish(job_ids, announce=False)
    response = await asyncio.wait_for(call, timeout=10)
    assert response.status_code == 200
    assert "sdapi wait" in caplog.text


async def test_a_call_past_its_time_cancels_its_jobs_and_answers_504(basic, monkeypatch):
    monkeypatch.setattr(sdapi_services, "WAIT_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(sdapi_services, "WAIT_CHECK_SECONDS", 0.1)
    response = await _call(AsyncClient(), basic, 3)
    assert response.status_code == 504
    assert response.json()["error"] == "TimeoutError"
    states = await sync_to_async(list)(GenerationJob.objects.values_list("state", flat=True))
    assert states == [GenerationJob.State.CANCELLED]
