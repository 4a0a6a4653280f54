"""Production mode: a separate `celery -A visionary worker` process runs the job from Redis and
pushes progress through the Redis channel layer. Runs in the MariaDB + Redis suite."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from generation.models import GenerationJob
from generation.realtime import job_group
from generation.services import job_submit, jobs_reap
from generation.worker.tasks import job_run
from visionary.celery import app as celery_app

pytestmark = [pytest.mark.worker_process, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[3]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"mysql://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 3306}/{db['NAME']}"


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    if not settings.REDIS_URL or connection.vendor != "mysql":
        pytest.skip("production mode only: set DATABASE_URL=mysql://... and REDIS_URL")
    if request.param == "redis":
        return str(settings.REDIS_URL)
    if not _reachable("127.0.0.1", 5672):
        pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 (see docs/development.md)")
    return RABBITMQ_URL


def _start_worker(queue: str, broker_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visionary.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "VISIONARY_DATA_DIR": str(settings.DATA_DIR),
        "HF_HUB_OFFLINE": "1",
        "LOG_FORMAT": "text",
        "GENERATION_HEARTBEAT_SECONDS": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "visionary", "worker", "-Q", queue]
    command += ["-P", "solo", "-c", "1", "--without-heartbeat", "--without-mingle"]
    command += ["--without-gossip", "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"]
    return subprocess.Popen([*command, "--loglevel", "INFO"], cwd=ROOT, env=env)


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.fixture
def worker_queue(transactional_db, broker_url: str) -> Iterator[str]:
    queue = f"test-generation-{uuid.uuid4().hex[:8]}"
    workers: list[subprocess.Popen] = []
    queue_workers[queue] = workers
    workers.append(_start_worker(queue, broker_url))
    yield queue
    for worker in workers:
        _stop(worker)
    del queue_workers[queue]
    with celery_app.connection_for_write(url=broker_url) as conn:
        conn.default_channel.queue_delete(queue)  # leave the shared broker as we found it


queue_workers: dict[str, list[subprocess.Popen]] = {}


def _wake(queue: str, broker_url: str, job_id: int) -> None:
    with celery_app.connection_for_write(url=broker_url) as conn:
        job_run.apply_async(args=(job_id,), queue=queue, connection=conn)


def _receive_until(layer, channel: str, done) -> list[dict]:
    async def receive() -> dict:
        return (await asyncio.wait_for(layer.receive(channel), timeout=120))["message"]

    messages: list[dict] = []
    while not messages or not done(messages[-1]):
        messages.append(async_to_sync(receive)())
    return messages


def test_separate_worker_runs_the_job_and_streams_progress(
    worker_queue, broker_url, member, tiny_version
):
    job = job_submit(
        user=member, model_version=tiny_version, prompt="a red circle", steps=4, enqueue=False
    )
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(job_group(job.pk), channel)
    _wake(worker_queue, broker_url, job.pk)
    messages = _receive_until(layer, channel, lambda m: m["type"] in {"done", "error"})
    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED, job.error
    assert [m["step"] for m in messages if m["type"] == "progress"][-1] == 4
    assert messages[-1] == {
        "type": "done",
        "images": [job.images.get().get_file_url()],
        "withheld": [],
    }
    assert job.worker and not job.worker.endswith(f":{os.getpid()}")  # another process


def test_worker_killed_mid_job_loses_nothing_and_duplicates_nothing(
    worker_queue, broker_url, member, tiny_version
):
    job = job_submit(
        user=member,
        model_version=tiny_version,
        prompt="a slow picture",
        steps=100,
        width=256,
        height=256,
        enqueue=False,
    )
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(job_group(job.pk), channel)
    _wake(worker_queue, broker_url, job.pk)
    _receive_until(layer, channel, lambda m: m["type"] == "progress" and m["step"] >= 3)

    first = queue_workers[worker_queue][0]
    first.kill()  # SIGKILL mid-job: no chance to clean up
    first.wait()
    job.refresh_from_db()
    assert job.state == GenerationJob.State.RUNNING  # until the reaper notices

    with override_settings(GENERATION_STALE_AFTER_SECONDS=5):
        result = jobs_reap(now=timezone.now() + timedelta(seconds=30))
    assert result.requeued == [job.pk]
    queue_workers[worker_queue].append(_start_worker(worker_queue, broker_url))
    _wake(worker_queue, broker_url, job.pk)
    _receive_until(layer, channel, lambda m: m["type"] in {"done", "error"})

    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED, job.error
    assert job.attempts == 2
    assert job.images.count() == 1


def test_separate_worker_batches_members_jobs_and_applies_their_lora(
    worker_queue, broker_url, tiny_version, tiny_lora
):
    from tests.accounts.factories import UserFactory

    jobs = [
        job_submit(
            user=user,
            model_version=tiny_version,
            prompt=f"a circle <lora:Test Ink:0.{n + 5}>" if n == 3 else f"a circle {n}",
            steps=3,
            seed=n,
            enqueue=False,
        )
        for n, user in enumerate(UserFactory.create_batch(4))
    ]
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for job in jobs:
        async_to_sync(layer.group_add)(job_group(job.pk), channel)
    _wake(worker_queue, broker_url, jobs[0].pk)  # one wake-up token runs a whole batch
    _wake(worker_queue, broker_url, jobs[3].pk)
    finished: set[int] = set()

    def all_done(message: dict) -> bool:
        if message["type"] in {"done", "error"}:
            finished.add(len(finished))
        return len(finished) == len(jobs)

    messages = _receive_until(layer, channel, all_done)
    statuses = [m for m in messages if m["type"] == "status"]
    assert sorted(m["batch"] for m in statuses) == [1, 3, 3, 3]  # the LoRA job ran on its own
    for job in jobs:
        job.refresh_from_db()
        assert job.state == GenerationJob.State.SUCCEEDED, job.error
    assert "Lora hashes" in jobs[3].images.get().infotext
