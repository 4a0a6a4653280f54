"""What an outage of a shared service looks like, and how every surface answers it: pages
(visionary.middleware), /api/ (visionary.api.errors), /sdapi/ (generation.sdapi.views) and
WebSockets (generation.consumers) all log it here, once, as a warning without a traceback (it is
not our bug), and ask the caller to retry after RETRY_AFTER_SECONDS."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis.exceptions
from django import db
from django.http import HttpResponseBase

# Redis (cache, channel layer), the database, and the job broker (kombu wraps a refused broker
# connection in its OperationalError).
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    db.OperationalError,
    db.InterfaceError,
    kombu.exceptions.OperationalError,
)
RETRY_AFTER_SECONDS = 5
logger = logging.getLogger("visionary.dependencies")


def outage_log(where: str, exc: Exception) -> None:
    """One warning per failed request or socket: ``where`` says which (e.g. "GET /gallery/")."""
    logger.warning("%s: a service is unavailable (%s: %s)", where, type(exc).__name__, exc)


def outage_marked(response: HttpResponseBase) -> HttpResponseBase:
    """A 503 that asks to retry, already logged: django.request would log it again as an error."""
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own marker
    return response
