"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from generation import services


@shared_task(bind=True, acks_late=True, name="generation.tasks.job_run")
def job_run(self: Any, job_id: int) -> None:
    services.job_execute(job_id=job_id, worker=self.request.hostname or "worker")
