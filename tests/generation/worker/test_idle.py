"""An idle worker makes up lost wake-ups itself, so a lost message costs seconds even with the
beat down; a busy one leaves the queue alone."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from generation.models import GenerationJob
from generation.worker import idle
from tests.generation.factories import GenerationJobFactory
from tests.generation.test_services import _drain_generation_queue

pytestmark = pytest.mark.django_db(transaction=True)


def _stranded(seconds: int = 30) -> GenerationJob:
    _drain_generation_queue()  # its wake-up was lost (a Redis restart)
    job = GenerationJobFactory(state=GenerationJob.State.QUEUED)
    GenerationJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )
    return job


@override_settings(GENERATION_REQUEUE_AFTER_SECONDS=15)
def test_an_idle_worker_wakes_a_worker_for_a_stranded_job():
    job = _stranded()
    assert idle.idle_check(idle=lambda: True) == 1
    assert _drain_generation_queue() == [{"task": "generation.tasks.job_run", "args": [job.pk]}]


@override_settings(GENERATION_REQUEUE_AFTER_SECONDS=15)
def test_a_busy_worker_does_not_look():
    _stranded()
    assert idle.idle_check(idle=lambda: False) == 0
    assert _drain_generation_queue() == []


@override_settings(GENERATION_REQUEUE_AFTER_SECONDS=15)
def test_a_fresh_job_is_left_to_its_own_message():
    _stranded(seconds=2)
    assert idle.idle_check(idle=lambda: True) == 0


@override_settings(GENERATION_REQUEUE_AFTER_SECONDS=15)
def test_the_watch_thread_looks_by_itself_and_stops():
    job = _stranded()
    stop = idle.idle_watch_start(interval=0.05)
    assert stop is not None
    time.sleep(1.0)  # many looks: the first sends the wake-up, the others see it in the broker
    stop.set()
    time.sleep(0.1)
    assert _drain_generation_queue() == [{"task": "generation.tasks.job_run", "args": [job.pk]}]


@override_settings(GENERATION_IDLE_CHECK_SECONDS=0)
def test_zero_turns_the_watch_off():
    assert idle.idle_watch_start() is None


def test_a_worker_with_no_request_in_hand_is_idle():
    assert idle.worker_idle()
