"""The worker's Celery task: a thin wrapper that takes an id and calls the execute service.

The task keeps its wire name ``generation.tasks.job_run``: web processes send it by that name
(``generation.services.queue.job_enqueue``) without importing this module."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from generation.services.queue import JOB_RUN_TASK
from generation.worker.execute import job_run as job_run_service
from generation.worker.idle import idle_watch_start
from generation.worker.runtime import worker_identity


@shared_task(acks_late=True, name=JOB_RUN_TASK)
def job_run(job_id: int) -> None:
    """A wake-up token: the worker claims the fairest queued job, not necessarily ``job_id``."""
    job_run_service(worker=worker_identity())


@worker_ready.connect
def _idle_watch(**_kwargs: Any) -> None:
    idle_watch_start()
