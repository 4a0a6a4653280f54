"""AXES_LOCKOUT_CALLABLE: the answer to a locked-out log-in in the caller's own language. The
APIs get JSON (our error body on /api/, AUTOMATIC1111's runtime error shape on /sdapi/), pages
get the lock-out page; all are 429 with Retry-After when the lock-out has an end."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from visionary.api.errors import API_PATH_PREFIX, error_body

# generation.sdapi's prefix; accounts sits below generation, so it is named here, not imported.
SDAPI_PATH_PREFIX = "/sdapi/"


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Axes calls this as (request, original_response, credentials), or (request, credentials)
    from its async middleware; neither extra argument changes the answer."""
    status: int = getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429)  # axes.conf's default
    message = _("Too many failed log-ins; wait a few minutes, then try again.")
    response: HttpResponse
    if request.path.startswith(API_PATH_PREFIX):
        response = JsonResponse(error_body(status, "locked_out", message), status=status)
    elif request.path.startswith(SDAPI_PATH_PREFIX):
        # A1111's runtime error shape, as generation.sdapi.views answers its own errors.
        body = {"error": "LockedOut", "detail": "", "body": "", "errors": message}
        response = JsonResponse(body, status=status)
    else:
        response = render(request, settings.AXES_LOCKOUT_TEMPLATE, status=status)
    cool_off = get_cool_off(request)
    if cool_off is not None:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
