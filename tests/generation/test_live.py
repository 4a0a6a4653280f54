"""The public live stream: /live and /ws/live/ show only generations shared live."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import override_settings

from generation.realtime import LIVE_GROUP, job_publish
from generation.worker.execute import job_run
from tests.accounts.factories import UserFactory
from tests.generation.factories import GenerationJobFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_live_socket_starts_with_the_shared_running_jobs(open_socket):
    shared = await database_sync_to_async(GenerationJobFactory)(
        state="running", share_live=True, prompt="a shared painting"
    )
    await database_sync_to_async(GenerationJobFactory)(state="running", prompt="a private one")
    await asyncio.to_thread(
        job_publish, shared.pk, {"type": "progress", "step": 2, "total": 4, "eta_s": 1}
    )
    communicator = open_socket("/ws/live/")
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "live"
    assert [(j["job"], j["prompt"], j["step"]) for j in first["jobs"]] == [
        (shared.pk, "a shared painting", 2)
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_live_socket_relays_only_shared_jobs(open_socket):
    communicator = open_socket("/ws/live/")
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)
    message = {"type": "progress", "step": 1, "total": 4, "eta_s": 1}
    await asyncio.to_thread(job_publish, 7, message)  # not shared: no live copy
    assert await communicator.receive_nothing(timeout=0.3)
    await asyncio.to_thread(job_publish, 8, message, live=message)
    assert await communicator.receive_json_from(timeout=5) == {**message, "job": 8}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_anyone_may_watch_a_shared_job_but_not_a_private_one(open_socket):
    stranger = await database_sync_to_async(UserFactory)()
    shared = await database_sync_to_async(GenerationJobFactory)(share_live=True)
    private = await database_sync_to_async(GenerationJobFactory)()
    assert (await open_socket(f"/ws/jobs/{shared.pk}/", stranger).connect())[0]
    assert not (await open_socket(f"/ws/jobs/{private.pk}/", stranger).connect())[0]


def _listen_to_live():
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(LIVE_GROUP, channel)
    return layer, channel


@pytest.mark.django_db
def test_a_shared_job_streams_to_live_without_its_private_picture(
    tiny_version, django_capture_on_commit_callbacks
):
    job = GenerationJobFactory(model_version=tiny_version, share_live=True, steps=3)
    layer, channel = _listen_to_live()
    with (
        override_settings(GENERATION_PROGRESS_MIN_INTERVAL=0, GENERATION_LIVE_MIN_INTERVAL=0),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job_run(job_id=job.pk, worker="w")

    async def receive() -> dict:
        return (await asyncio.wait_for(layer.receive(channel), timeout=10))["message"]

    messages: list[dict] = []
    while not messages or messages[-1]["type"] != "done":
        messages.append(async_to_sync(receive)())
    assert messages[0]["type"] == "status"
    assert messages[0]["prompt"] == job.prompt and messages[0]["job"] == job.pk
    assert [m["step"] for m in messages if m["type"] == "progress"] == [1, 2, 3]
    assert messages[-1] == {"type": "done", "job": job.pk}  # no image URLs for watchers


@pytest.mark.django_db
def test_live_page_lists_shared_generations_only(client):
    GenerationJobFactory(state="running", share_live=True, prompt="everyone can watch this")
    GenerationJobFactory(state="running", prompt="nobody else sees this")
    html = client.get("/live/").content.decode()
    assert "everyone can watch this" in html
    assert "nobody else sees this" not in html


@pytest.mark.django_db
def test_live_page_empty_state(client):
    assert "Nothing is being painted live right now" in client.get("/live/").content.decode()


@pytest.mark.django_db
def test_live_page_query_count_does_not_grow(client, django_assert_num_queries):
    for _ in range(6):
        GenerationJobFactory(state="running", share_live=True)
    with django_assert_num_queries(1):
        assert client.get("/live/").status_code == 200
