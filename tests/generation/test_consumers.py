"""The job WebSocket: who may connect, what they get first, and live pushes from a worker."""

from __future__ import annotations

import asyncio

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from generation.consumers import CLOSE_FORBIDDEN
from generation.realtime import job_publish
from generation.routing import websocket_urlpatterns
from tests.accounts.factories import UserFactory
from tests.generation.factories import GenerationJobFactory
from visionary.asgi import application as site_application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _communicator(job_id: int, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job_id}/")
    communicator.scope["user"] = user
    return communicator


async def _make_job(**kwargs):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(GenerationJobFactory)(**kwargs)


async def test_owner_gets_the_current_state_first():
    job = await _make_job()
    communicator = _communicator(job.pk, job.user)
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_json_from(timeout=5) == {"type": "queue", "position": 1}
    await communicator.disconnect()


async def test_late_joiner_gets_the_latest_progress():
    job = await _make_job(state="running")
    job_publish(job.pk, {"type": "progress", "step": 3, "total": 4, "eta_s": 0.1})
    communicator = _communicator(job.pk, job.user)
    await communicator.connect()
    first = await communicator.receive_json_from(timeout=5)
    assert first == {"type": "progress", "step": 3, "total": 4, "eta_s": 0.1}
    await communicator.disconnect()


async def test_late_joiner_gets_the_latest_preview_too():
    job = await _make_job(state="running")
    job_publish(job.pk, {"type": "progress", "step": 5, "total": 8, "eta_s": 0.3})
    job_publish(job.pk, {"type": "preview", "step": 5, "image": "data:,"}, latest_key="preview")
    communicator = _communicator(job.pk, job.user)
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["type"] == "progress"
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "preview",
        "step": 5,
        "image": "data:,",
    }
    await communicator.disconnect()


async def test_another_member_is_refused():
    from channels.db import database_sync_to_async

    job = await _make_job()
    stranger = await database_sync_to_async(UserFactory)()
    communicator = _communicator(job.pk, stranger)
    connected, code = await communicator.connect()
    assert not connected
    assert code == CLOSE_FORBIDDEN


async def test_anonymous_visitor_is_refused():
    from django.contrib.auth.models import AnonymousUser

    job = await _make_job()
    connected, code = await _communicator(job.pk, AnonymousUser()).connect()
    assert not connected and code == CLOSE_FORBIDDEN


async def test_messages_from_a_worker_thread_reach_the_socket():
    job = await _make_job(state="running")
    communicator = _communicator(job.pk, job.user)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)  # the current state
    # Worker threads publish with async_to_sync from outside the server's event loop.
    await asyncio.to_thread(
        job_publish, job.pk, {"type": "progress", "step": 1, "total": 4, "eta_s": 1}
    )
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "progress",
        "step": 1,
        "total": 4,
        "eta_s": 1,
    }
    await communicator.disconnect()


async def test_foreign_origin_is_rejected_by_the_site():
    job = await _make_job()
    communicator = WebsocketCommunicator(
        site_application, f"/ws/jobs/{job.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected
