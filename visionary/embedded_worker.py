"""A Celery worker running in a thread of the web process, for the embedded mode."""

from __future__ import annotations

import logging
import threading

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
        _reaper_start()
        logger.info("embedded Celery worker started", extra={"queues": list(queues)})


def embedded_worker_alive() -> bool:
    return _thread is not None and _thread.is_alive()


def embedded_worker_stop() -> None:
    global _worker, _thread
    with _lock:
        _reaper_stop.set()
        if _worker is not None:
            _worker.stop(in_sighandler=False)
        if _thread is not None:
            _thread.join(timeout=10)
        _worker, _thread = None, None


_reaper_stop = threading.Event()


def _reaper_start() -> None:
    """The embedded stand-in for celery beat: queue the stale-job reaper periodically."""
    from django.conf import settings

    from generation.tasks import jobs_reap

    def loop() -> None:
        while not _reaper_stop.wait(settings.GENERATION_REAP_INTERVAL_SECONDS):
            jobs_reap.delay()

    _reaper_stop.clear()
    threading.Thread(target=loop, name="embedded-reaper", daemon=True).start()
