"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from generation import services
from generation.worker import worker_identity


@shared_task(acks_late=True, name="generation.tasks.job_run")
def job_run(job_id: int) -> None:
    services.job_execute(job_id=job_id, worker=worker_identity())
