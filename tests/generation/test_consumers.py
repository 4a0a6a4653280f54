"""The job WebSocket: who may connect, what they get first, and live pushes from a worker."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from generation.consumers import CLOSE_FORBIDDEN
from generation.realtime import job_publish
from tests.accounts.factories import UserFactory
from tests.generation.factories import GenerationJobFactory
from visionary.asgi import application as site_application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _make_job(**kwargs):
    return await database_sync_to_async(GenerationJobFactory)(**kwargs)


async def _publish_from_worker(*args, **kwargs) -> None:
    """Workers publish with async_to_sync from a thread of their own, never on the server's loop."""
    await asyncio.to_thread(job_publish, *args, **kwargs)


async def test_owner_gets_the_current_state_first(open_socket):
    job = await _make_job()
    communicator = open_socket(f"/ws/jobs/{job.pk}/", job.user)
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_json_from(timeout=5) == {"type": "queue", "position": 1}


async def test_late_joiner_gets_the_latest_progress(open_socket):
    job = await _make_job(state="running")
    await _publish_from_worker(job.pk, {"type": "progress", "step": 3, "total": 4, "eta_s": 0.1})
    communicator = open_socket(f"/ws/jobs/{job.pk}/", job.user)
    await communicator.connect()
    first = await communicator.receive_json_from(timeout=5)
    assert first == {"type": "progress", "step": 3, "total": 4, "eta_s": 0.1}
    assert await communicator.receive_nothing(timeout=0.2)


async def test_late_joiner_gets_the_latest_preview_too(open_socket):
    job = await _make_job(state="running")
    await _publish_from_worker(job.pk, {"type": "progress", "step": 5, "total": 8, "eta_s": 0.3})
    await _publish_from_worker(
        job.pk, {"type": "preview", "step": 5, "image": "data:,"}, latest_key="preview"
    )
    communicator = open_socket(f"/ws/jobs/{job.pk}/", job.user)
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["type"] == "progress"
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "preview",
        "step": 5,
        "image": "data:,",
    }


async def test_another_member_is_refused(open_socket):
    job = await _make_job()
    stranger = await database_sync_to_async(UserFactory)()
    connected, code = await open_socket(f"/ws/jobs/{job.pk}/", stranger).connect()
    assert not connected
    assert code == CLOSE_FORBIDDEN


async def test_anonymous_visitor_is_refused(open_socket):
    job = await _make_job()
    connected, code = await open_socket(f"/ws/jobs/{job.pk}/", AnonymousUser()).connect()
    assert not connected and code == CLOSE_FORBIDDEN


async def test_messages_from_a_worker_thread_reach_the_socket(open_socket):
    job = await _make_job(state="running")
    communicator = open_socket(f"/ws/jobs/{job.pk}/", job.user)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)  # the current state
    await _publish_from_worker(job.pk, {"type": "progress", "step": 1, "total": 4, "eta_s": 1})
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "progress",
        "step": 1,
        "total": 4,
        "eta_s": 1,
    }


async def test_foreign_origin_is_rejected_by_the_site(open_socket):
    job = await _make_job()
    communicator = open_socket(
        f"/ws/jobs/{job.pk}/",
        application=site_application,
        headers=[(b"origin", b"http://evil.example")],
    )
    connected, _ = await communicator.connect()
    assert not connected
