"""Realtime messages have one shape each: what a client that connects (or reconnects) late gets
first is what a client watching live got, and queue positions go out in one push."""

from __future__ import annotations

import io

import pytest
from channels.db import database_sync_to_async
from PIL import Image as PILImage

from generation import realtime
from generation.messages import live_done_message, live_status_message, status_message
from generation.models import GenerationJob
from generation.realtime import job_latest_message
from generation.selectors import job_state_message
from generation.services import job_submit, queue_positions_publish
from generation.services.images import image_store
from generation.worker import execute
from generation.worker.execute import job_run
from moderation.imagefilter import Rating
from tests.generation.factories import GenerationJobFactory
from visionary.levels import Level

EXPLICIT = Rating(Level.X, ("FEMALE_GENITALIA_EXPOSED",))


def _png() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.django_db
def test_a_reconnecting_client_gets_the_done_message_the_live_one_got_withheld_notices_included(
    member, tiny_version, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(execute, "image_rate", lambda picture: EXPLICIT)
    job = job_submit(user=member, model_version=tiny_version, prompt="a red circle", steps=2)
    with django_capture_on_commit_callbacks(execute=True):
        job_run(job_id=job.pk, worker="test")
    job.refresh_from_db()
    live = job_latest_message(job.pk)
    assert live is not None and live["withheld"][0]["level"] == "X"
    assert job_state_message(job=job) == live


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_job_socket_tells_a_late_joiner_which_pictures_were_withheld(open_socket):
    def succeeded_with_a_withheld_picture() -> GenerationJob:
        job = GenerationJobFactory(state=GenerationJob.State.SUCCEEDED)
        image_store(job=job, png=_png(), seed=42, infotext="", rating=EXPLICIT)
        return job

    job = await database_sync_to_async(succeeded_with_a_withheld_picture)()
    communicator = open_socket(f"/ws/jobs/{job.pk}/", job.user)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "done" and first["images"] == []
    assert [notice["level"] for notice in first["withheld"]] == ["X"]
    assert "exposed genitals" in first["withheld"][0]["reason"]


@pytest.mark.django_db
def test_queue_positions_go_out_in_one_hop_to_the_event_loop(monkeypatch):
    jobs = [GenerationJobFactory() for _ in range(3)]
    hops = []
    real_async_to_sync = realtime.async_to_sync

    def counting_async_to_sync(function):
        hops.append(function)
        return real_async_to_sync(function)

    monkeypatch.setattr(realtime, "async_to_sync", counting_async_to_sync)
    queue_positions_publish()
    assert len(hops) == 1
    positions = {job.pk: job_latest_message(job.pk) for job in jobs}
    assert sorted(message["position"] for message in positions.values()) == [1, 2, 3]
    assert all(message["type"] == "queue" for message in positions.values())
    assert positions[jobs[0].pk] == job_state_message(job=jobs[0])


@pytest.mark.django_db
def test_the_live_copies_never_carry_the_owners_pictures():
    job = GenerationJobFactory(state=GenerationJob.State.RUNNING, share_live=True)
    status = live_status_message(job, status_message(job.state, batch=2))
    assert status["type"] == "status" and status["batch"] == 2
    assert status["prompt"] == job.prompt and status["size"] == "64x64"
    assert live_done_message() == {"type": "done"}
