"""One structured log line per request (method, route, status, duration and user), request
latency for /metrics, and the pages' answer to a domain error."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.decorators import sync_and_async_middleware
from django.utils.deprecation import MiddlewareMixin

from visionary.errors import ApplicationError
from visionary.metrics import request_duration_record
from visionary.outages import DEPENDENCY_ERRORS, outage_log, outage_marked

logger = logging.getLogger("visionary.request")
_QUIET_PREFIXES = ("/static/", "/healthz")


def _log(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    if request.path.startswith(_QUIET_PREFIXES):
        return
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    logger.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "route": match.route if match else None,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "user_id": user.pk if user is not None and user.is_authenticated else None,
        },
    )


@sync_and_async_middleware
def RequestLogMiddleware(get_response: Callable[[HttpRequest], Any]) -> Any:
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response = await get_response(request)
            _log(request, response, started)
            return response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response: HttpResponseBase = get_response(request)
        _log(request, response, started)
        return response

    return middleware


@sync_and_async_middleware
def RequestMetricsMiddleware(get_response: Callable[[HttpRequest], Any]) -> Any:
    """Times every request into the latency histogram, labelled by URL pattern."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response = await get_response(request)
            request_duration_record(request, response, time.perf_counter() - started)
            return response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response: HttpResponseBase = get_response(request)
        request_duration_record(request, response, time.perf_counter() - started)
        return response

    return middleware


class ApplicationErrorMiddleware(MiddlewareMixin):
    """A domain error that a page view lets through becomes the error page of its status, with
    its message: never a traceback. (DRF views answer their own, in /api/'s and /sdapi/'s
    shapes; a view that shows a form puts a service's ValidationError on it instead.)"""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None  # Django's own handling: 404, 403, or the 500 page
        return application_error_page(request, exception)


def application_error_page(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    status = exc.http_status
    message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc.message)
    context = {"status": status, "code": exc.code, "message": message}
    return render(request, [f"{status}.html", "error.html"], context, status=status)


class DependencyUnavailableMiddleware(MiddlewareMixin):
    """A page whose view fails because Redis, the database or the broker is unreachable answers
    503 with Retry-After and a page that says so, and logs a warning instead of a traceback."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DEPENDENCY_ERRORS):
            return None
        outage_log(f"{request.method} {request.path}", exception)
        response = outage_marked(render(request, "503.html", status=503))
        assert isinstance(response, HttpResponse)
        return response


__all__ = [
    "ApplicationErrorMiddleware",
    "DependencyUnavailableMiddleware",
    "RequestLogMiddleware",
    "RequestMetricsMiddleware",
]
