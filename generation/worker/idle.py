"""An idle worker looks at the database now and then, so a lost wake-up costs seconds even when
the beat is down too: every GENERATION_IDLE_CHECK_SECONDS, while this worker runs no task, it
sends wake-ups for queued jobs nobody claimed (the reaper's shortfall rule: only for jobs the
broker holds no message for). Started by the ``worker_ready`` signal, in worker processes only."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from celery.worker import state as worker_state
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from generation.services.queue import queued_jobs_rewake

logger = logging.getLogger(__name__)


def worker_idle() -> bool:
    """No task is being run by this worker process (solo pool: the task runs in its main thread)."""
    return not worker_state.active_requests


def idle_check(*, idle: Callable[[], bool] = worker_idle) -> int:
    """One look: wake-ups sent (0 while busy: a busy worker claims the next job when it is done)."""
    if not idle():
        return 0
    close_old_connections()
    try:
        return queued_jobs_rewake(now=timezone.now())
    except Exception:
        logger.warning("idle check could not read the queue", exc_info=True)
        return 0
    finally:
        connection.close()  # a thread that sleeps between looks holds no connection


def idle_watch_start(*, interval: float | None = None) -> threading.Event | None:
    """Start the watch thread; returns the event that stops it (None when turned off)."""
    every = settings.GENERATION_IDLE_CHECK_SECONDS if interval is None else interval
    if every <= 0:
        return None
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every):
            idle_check()

    threading.Thread(target=watch, name="generation-idle-check", daemon=True).start()
    return stop
