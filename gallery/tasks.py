"""Celery tasks of the gallery: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from gallery import services


@shared_task(name="gallery.tasks.quarantine_purge")
def quarantine_purge() -> int:
    return services.quarantine_purge()
