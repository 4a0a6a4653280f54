"""A running job's heartbeat stays fresh through stretches that report no steps (loading the
model, a slow step, rating and encoding), so the reaper never takes a job still being worked on."""

from __future__ import annotations

import time

import pytest

from generation.models import GenerationJob
from generation.worker import execute
from generation.worker.execute import job_run
from tests.generation.factories import GenerationJobFactory


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_is_written_while_a_call_reports_no_steps(
    member, tiny_version, monkeypatch, settings
):
    settings.GENERATION_HEARTBEAT_SECONDS = 0.1
    job = GenerationJobFactory(user=member, model_version=tiny_version)
    render = execute.render
    seen = []

    def silent_render(*args, **kwargs):
        claimed = GenerationJob.objects.get(pk=job.pk).heartbeat_at
        time.sleep(0.6)  # e.g. a model loading: no step is reported
        seen.append((claimed, GenerationJob.objects.get(pk=job.pk).heartbeat_at))
        return render(*args, **kwargs)

    monkeypatch.setattr(execute, "render", silent_render)
    [done] = job_run(job_id=job.pk, worker="w")
    assert done.state == GenerationJob.State.SUCCEEDED
    [(before, after)] = seen
    assert after is not None and (before is None or after > before)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_stops_when_the_call_ends(member, tiny_version, settings):
    settings.GENERATION_HEARTBEAT_SECONDS = 0.05
    job = GenerationJobFactory(user=member, model_version=tiny_version)
    job_run(job_id=job.pk, worker="w")
    finished = GenerationJob.objects.get(pk=job.pk).heartbeat_at
    time.sleep(0.3)
    assert GenerationJob.objects.get(pk=job.pk).heartbeat_at == finished
