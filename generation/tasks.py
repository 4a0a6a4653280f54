"""Celery tasks any worker may run (the default queue): torch-free, thin, calling services.

The GPU worker's own task lives in ``generation.worker.tasks``."""

from __future__ import annotations

from celery import shared_task

from generation.services.queue import jobs_reap as jobs_reap_service


@shared_task(name="generation.tasks.jobs_reap")
def jobs_reap() -> None:
    jobs_reap_service()
