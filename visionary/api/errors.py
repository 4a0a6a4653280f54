"""The one error body of the REST API: every 4xx (and an unexpected 5xx) under /api/ is answered as
``{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"steps": ["..."]}}}``;
an ApplicationError adds its ``extra`` (e.g. prompt_blocked's category and job). Other DRF views
(the A1111-compatible /sdapi/v1/) keep DRF's default handling, so they can answer in
AUTOMATIC1111's own error style.

A body over the upload limit is a 413; a Redis, database or broker outage is a 503 with
Retry-After, logged as a warning, since trying again later may well work."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from visionary.errors import ApplicationError, Invalid, ServiceUnavailable
from visionary.outages import DEPENDENCY_ERRORS, outage_log, outage_marked

logger = logging.getLogger(__name__)

API_PATH_PREFIX = "/api/"
NON_FIELD = "non_field_errors"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: our error body under /api/, DRF's default anywhere else."""
    request = context.get("request")
    if request is None or not request.path.startswith(API_PATH_PREFIX):
        return drf_exception_handler(exc, context)
    if isinstance(exc, DEPENDENCY_ERRORS):
        outage_log(f"{request.method} {request.path}", exc)
        unavailable = Response(application_error_body(ServiceUnavailable()), status=503)
        outage_marked(unavailable)
        return unavailable
    if isinstance(exc, SuspiciousOperation):
        status, code, message = bad_request_summary(exc)
        return Response(error_body(status, code, message), status=status)
    if isinstance(exc, DjangoValidationError):
        exc = Invalid.of(exc)
    if isinstance(exc, ApplicationError):
        return Response(application_error_body(exc), status=exc.http_status)
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        # A bug: logged with its traceback here, never shown to the caller.
        logger.exception("API error", exc_info=exc, extra={"path": request.path})
        return Response(
            error_body(500, "server_error", _("Something went wrong on our side.")), status=500
        )
    response = drf_exception_handler(api_exc, context)
    assert response is not None  # every APIException gets a response
    response.data = _error_data(api_exc, response.status_code)
    return response


def application_error_body(exc: ApplicationError) -> dict[str, Any]:
    """A domain error as the error body: its status, code, message, field errors and extras."""
    message = " ".join(exc.non_field_errors) or _("Some fields are not valid; see “fields”.")
    body = error_body(exc.http_status, exc.code, message, exc.field_errors)
    body["error"] |= exc.extra
    return body


def bad_request_summary(exc: SuspiciousOperation) -> tuple[int, str, str]:
    """Status, code and message for a request Django refused to read: 413 for a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, 400 for the rest (too many fields or files, a bad host...)."""
    if isinstance(exc, RequestDataTooBig):
        return 413, "too_large", _("The request body is too large.")
    return 400, "bad_request", _("The request could not be read.")


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Django's errors as the DRF exception that says the same."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return None


def error_body(
    status: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _error_data(exc: exceptions.APIException, status: int) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields: dict[str, Any] = {}
        general: list[str] = []
        if isinstance(detail, dict):
            for field, messages in detail.items():
                if field == NON_FIELD:
                    general.extend(str(m) for m in _as_list(messages))
                else:
                    fields[field] = _plain(messages)
        else:
            general.extend(str(m) for m in _as_list(detail))
        message = " ".join(general) or _("Some fields are not valid; see “fields”.")
        return error_body(status, "invalid", message, fields)
    code = getattr(exc.detail, "code", None) or exc.default_code
    return error_body(status, str(code), str(exc.detail))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _plain(value: Any) -> Any:
    """ErrorDetail strings (possibly nested) as plain JSON values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return str(value)


class ErrorDetailSerializer(serializers.Serializer[Any]):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text="Machine-readable: invalid, prompt_blocked, not_authenticated, "
        "authentication_failed, permission_denied, not_found, method_not_allowed, "
        "throttled, locked_out, parse_error, too_large, bad_request, unavailable..."
    )
    message = serializers.CharField(help_text="For people; translated to the caller's language.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages, for validation errors only.",
    )
    category = serializers.CharField(
        required=False,
        help_text="prompt_blocked only: minors, sexual, violence, hate, real_persons or "
        "weapons_drugs.",
    )
    job = serializers.IntegerField(
        required=False, help_text="prompt_blocked only: the blocked job kept on record."
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every 4xx answer of /api/v1/."""

    error = ErrorDetailSerializer()
