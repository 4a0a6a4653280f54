"""A Celery worker running in a thread of the web process, for the embedded mode."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery.worker import WorkController

from visionary.celery import app

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_worker: WorkController | None = None
_thread: threading.Thread | None = None


def embedded_worker_start(*, queues: tuple[str, ...] = ("generation", "default")) -> None:
    """Start the worker thread once per process (idempotent)."""
    global _worker, _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        worker = WorkController(
            app=app,
            pool_cls="solo",
            concurrency=1,
            queues=list(queues),
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname="embedded@localhost",
        )
        thread = threading.Thread(target=worker.start, name="embedded-celery-worker", daemon=True)
        thread.start()
        _worker, _thread = worker, thread
        _beat_start()
        logger.info("embedded Celery worker started", extra={"queues": list(queues)})


def embedded_worker_alive() -> bool:
    return _thread is not None and _thread.is_alive()


def embedded_worker_stop() -> None:
    global _worker, _thread
    with _lock:
        _beat_stop.set()
        if _worker is not None:
            _worker.stop(in_sighandler=False)
        if _thread is not None:
            _thread.join(timeout=10)
        _worker, _thread = None, None


_beat_stop = threading.Event()


def _beat_start() -> None:
    """The embedded stand-in for celery beat: send each CELERY_BEAT_SCHEDULE task (the stale-job
    reaper, the quarantine purge) at its interval."""
    from django.conf import settings

    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    entries = {name: (str(e["task"]), float(e["schedule"])) for name, e in schedule.items()}

    def loop() -> None:
        due = {name: time.monotonic() + every for name, (_, every) in entries.items()}
        while not _beat_stop.wait(max(0.05, min(due.values()) - time.monotonic())):
            now = time.monotonic()
            for name, (task, every) in entries.items():
                if due[name] <= now:
                    app.send_task(task)
                    due[name] = now + every

    _beat_stop.clear()
    if entries:
        threading.Thread(target=loop, name="embedded-beat", daemon=True).start()
