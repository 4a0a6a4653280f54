"""The embedded mode end to end: the web process's own Celery worker thread runs a submitted job."""

from __future__ import annotations

import time

import pytest

from generation.models import GenerationJob
from generation.services import job_submit
from generation.worker.runtime import worker_identity
from visionary.embedded_worker import (
    embedded_worker_alive,
    embedded_worker_start,
    embedded_worker_stop,
)


@pytest.fixture
def embedded_worker():
    embedded_worker_start()
    yield
    embedded_worker_stop()


def _wait_until_finished(job: GenerationJob, seconds: float = 60) -> GenerationJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job.state} after {seconds}s")


@pytest.mark.django_db(transaction=True)
def test_submitted_job_is_run_by_the_in_process_worker(embedded_worker, member, tiny_version):
    assert embedded_worker_alive()
    job = job_submit(user=member, model_version=tiny_version, prompt="a blue square", steps=3)
    job = _wait_until_finished(job)
    assert job.state == GenerationJob.State.SUCCEEDED
    assert job.worker == worker_identity()  # this very process
    assert job.images.count() == 1


def test_the_embedded_beat_sends_every_scheduled_task(settings, monkeypatch):
    from visionary import embedded_worker

    sent: list[str] = []
    monkeypatch.setattr(embedded_worker.app, "send_task", lambda name, *a, **k: sent.append(name))
    settings.CELERY_BEAT_SCHEDULE = {
        "reap": {"task": "generation.tasks.jobs_reap", "schedule": 0.05},
        "purge": {"task": "gallery.tasks.quarantine_purge", "schedule": 0.05},
    }
    embedded_worker._beat_start()
    try:
        deadline = time.monotonic() + 5
        while {"generation.tasks.jobs_reap", "gallery.tasks.quarantine_purge"} - set(sent):
            assert time.monotonic() < deadline, sent
            time.sleep(0.02)
    finally:
        embedded_worker._beat_stop.set()
