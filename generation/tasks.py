"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from generation import services
from generation.worker import worker_identity


@shared_task(acks_late=True, name="generation.tasks.job_run")
def job_run(job_id: int) -> None:
    """A wake-up token: the worker claims the fairest queued job, not necessarily ``job_id``."""
    services.job_run_next(worker=worker_identity())


@shared_task(name="generation.tasks.jobs_reap")
def jobs_reap() -> None:
    services.jobs_reap()
