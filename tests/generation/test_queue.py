"""Fair claiming, cancel and the reaper: the multi-user behaviour of the job queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from generation.models import GenerationJob
from generation.selectors import job_queue_position, queue_order
from generation.services import NotYourJob, job_cancel, job_claim, job_claim_next, jobs_reap
from generation.services.queue import job_enqueue
from generation.worker.execute import job_run
from tests.accounts.factories import UserFactory
from tests.generation.factories import GenerationJobFactory
from tests.generation.test_services import _drain_generation_queue
from tests.modelhub.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db
State = GenerationJob.State


def _queued(user, n=1, **kwargs):
    return [GenerationJobFactory(user=user, **kwargs) for _ in range(n)]


def test_one_users_many_jobs_never_starve_another_users_one():
    heavy, light = UserFactory(), UserFactory()
    heavy_jobs = _queued(heavy, 20)
    (light_job,) = _queued(light)  # submitted after all of heavy's
    order = [job.pk for job in queue_order()]
    assert order.index(light_job.pk) <= 1
    assert job_queue_position(job=light_job) <= 2
    assert order[:2] == [heavy_jobs[0].pk, light_job.pk]


def test_claims_alternate_between_users():
    alice, bob = UserFactory(), UserFactory()
    _queued(alice, 3)
    _queued(bob, 3)
    owners = [job_claim_next(worker="w").user_id for _ in range(6)]
    assert owners == [alice.pk, bob.pk] * 3


def test_the_user_served_longest_ago_goes_first():
    recent, waiting = UserFactory(), UserFactory()
    GenerationJobFactory(user=recent, state=State.SUCCEEDED, started_at=timezone.now())
    GenerationJobFactory(
        user=waiting, state=State.SUCCEEDED, started_at=timezone.now() - timedelta(hours=1)
    )
    _queued(recent)
    (waiting_job,) = _queued(waiting)
    assert job_claim_next(worker="w").pk == waiting_job.pk


def test_worker_prefers_a_model_it_already_holds_within_the_users_turn():
    user = UserFactory()
    other_model, held_model = ModelVersionFactory(), ModelVersionFactory()
    GenerationJobFactory(user=user, model_version=other_model)
    held_job = GenerationJobFactory(user=user, model_version=held_model)
    claimed = job_claim_next(worker="w", held_versions=frozenset({held_model.pk}))
    assert claimed.pk == held_job.pk


def test_affinity_never_jumps_another_users_turn():
    first, second = UserFactory(), UserFactory()
    held_model = ModelVersionFactory()
    (first_job,) = _queued(first)
    _queued(second, model_version=held_model)
    claimed = job_claim_next(worker="w", held_versions=frozenset({held_model.pk}))
    assert claimed.pk == first_job.pk


def test_a_claimed_job_is_not_claimed_again():
    (job,) = _queued(UserFactory())
    assert job_claim(job_id=job.pk, worker="a") is not None
    assert job_claim(job_id=job.pk, worker="b") is None
    assert job_claim_next(worker="b") is None


def test_cancel_a_queued_job_takes_it_out_of_the_queue(member):
    (job,) = _queued(member)
    job_cancel(job=job, user=member)
    job.refresh_from_db()
    assert job.state == State.CANCELLED and job.finished_at
    assert queue_order() == []


def test_cancel_by_another_member_is_refused_and_changes_nothing(member):
    (job,) = _queued(member)
    with pytest.raises(NotYourJob):
        job_cancel(job=job, user=UserFactory())
    job.refresh_from_db()
    assert job.state == State.QUEUED


def test_cancel_stops_a_running_job_within_one_step(member, tiny_version, monkeypatch):
    job = GenerationJobFactory(user=member, model_version=tiny_version, steps=30)
    steps_seen: list[int] = []
    from generation.worker import execute as services

    original = services.ProgressReporter.__call__

    def report(self, step, total, latents=None, **kwargs):
        steps_seen.append(step)
        if step == 3:  # the member presses cancel while step 3 is reported
            job_cancel(job=GenerationJob.objects.get(pk=job.pk), user=member)
        original(self, step, total, latents, **kwargs)

    monkeypatch.setattr(services.ProgressReporter, "__call__", report)
    job_run(job_id=job.pk, worker="w")
    job.refresh_from_db()
    assert job.state == State.CANCELLED
    assert steps_seen == [1, 2, 3]
    assert job.images.count() == 0
    assert cache.get(f"job:{job.pk}:cancel") is None


def test_cancelling_one_job_leaves_another_users_running_job_alone(member, tiny_version):
    other = UserFactory()
    mine = GenerationJobFactory(user=member, model_version=tiny_version)
    theirs = GenerationJobFactory(user=other, model_version=tiny_version)
    job_claim(job_id=mine.pk, worker="w1")
    job_cancel(job=mine, user=member)  # mine is running: its stop flag is set
    job_run(job_id=theirs.pk, worker="w2")
    theirs.refresh_from_db()
    assert theirs.state == State.SUCCEEDED
    assert theirs.images.count() == 1


def test_run_next_does_nothing_when_the_queue_is_empty():
    assert job_run(worker="w") == []


@override_settings(GENERATION_STALE_AFTER_SECONDS=60, GENERATION_MAX_ATTEMPTS=3)
def test_reaper_requeues_a_job_whose_worker_stopped_beating(member):
    (job,) = _queued(member)
    job_claim(job_id=job.pk, worker="dead-worker")
    GenerationJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    result = jobs_reap()
    job.refresh_from_db()
    assert result.requeued == [job.pk]
    assert (job.state, job.worker, job.attempts) == (State.QUEUED, "", 1)


@override_settings(GENERATION_STALE_AFTER_SECONDS=60)
def test_reaper_leaves_live_jobs_running(member):
    (job,) = _queued(member)
    job_claim(job_id=job.pk, worker="alive")
    assert jobs_reap().requeued == []
    job.refresh_from_db()
    assert job.state == State.RUNNING


@override_settings(GENERATION_STALE_AFTER_SECONDS=60, GENERATION_MAX_ATTEMPTS=2)
def test_a_job_failing_repeatedly_ends_failed_with_a_reason(member):
    (job,) = _queued(member)
    for _ in range(2):
        job_claim(job_id=job.pk, worker="crashing")
        GenerationJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - timedelta(minutes=5)
        )
        jobs_reap()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert "stopped responding 2 times" in job.error
    assert job.finished_at is not None


def test_a_result_from_a_worker_that_lost_its_job_is_discarded(member, tiny_version, monkeypatch):
    job = GenerationJobFactory(user=member, model_version=tiny_version)
    from generation.worker import execute

    render = execute.render

    def slow_render(*args, **kwargs):
        # Meanwhile the reaper gave the job to another worker.
        GenerationJob.objects.filter(pk=job.pk).update(worker="fresh")
        return render(*args, **kwargs)

    monkeypatch.setattr(execute, "render", slow_render)
    job_run(job_id=job.pk, worker="slow")
    job.refresh_from_db()
    assert job.state == State.RUNNING and job.worker == "fresh"
    assert job.images.count() == 0


def _waiting_since(job, seconds):
    GenerationJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


@override_settings(GENERATION_REQUEUE_AFTER_SECONDS=15)
def test_reaper_wakes_a_worker_for_a_queued_job_whose_message_was_lost(member):
    _drain_generation_queue()  # the messages are lost (a Redis restart)
    (stranded,) = _queued(member)
    _waiting_since(stranded, 30)
    _queued(UserFactory())  # fresh: its message may still be on its way
    result = jobs_reap()
    assert result.rewoken == 1
    assert _drain_generation_queue() == [
        {"task": "generation.tasks.job_run", "args": [stranded.pk]}
    ]


@override_settings(GENERATION_REQUEUE_AFTER_SECONDS=15)
def test_reaper_sends_no_wake_up_for_a_waiting_job_whose_message_is_in_the_broker(member):
    _drain_generation_queue()
    (waiting,) = _queued(member)
    _waiting_since(waiting, 30)
    job_enqueue(waiting.pk)  # workers are busy; the message waits its turn
    assert jobs_reap().rewoken == 0
    assert len(_drain_generation_queue()) == 1
