"""Liveness and readiness probes for the orchestrator and the load balancer."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from visionary.celery import app as celery_app
from visionary.embedded_worker import embedded_worker_alive

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process can answer at all."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _check_broker() -> None:
    if settings.CELERY_BROKER_URL.startswith("memory"):
        if settings.VISIONARY_EMBEDDED_WORKER and not embedded_worker_alive():
            raise RuntimeError("embedded worker thread is not running")
        return
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every backing service answers; 503 naming the ones that do not."""
    down: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            logger.warning("readiness check failed", extra={"check": name, "error": str(exc)})
            down[name] = exc.__class__.__name__
    if down:
        return JsonResponse({"status": "unavailable", "down": down}, status=503)
    return JsonResponse({"status": "ok", "checks": sorted(CHECKS)})
