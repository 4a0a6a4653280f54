"""Celery tasks of moderation: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from moderation import services


@shared_task(name="moderation.tasks.quarantine_purge")
def quarantine_purge() -> int:
    return services.quarantine_purge()
