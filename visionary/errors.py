"""The one base of our domain errors. A service raises an ``ApplicationError`` with a message for
people, a short ``code`` for programs, an HTTP status and ``extra`` details; one handler per
surface answers it: ``visionary.api.errors`` (/api/), ``generation.sdapi.views`` (/sdapi/, in
AUTOMATIC1111's shapes) and ``visionary.middleware.ApplicationErrorMiddleware`` (pages).

A handler reads ``code``, ``http_status``, ``extra``, ``field_errors`` and ``non_field_errors``.
``Invalid`` is also Django's ``ValidationError``, so forms, ``message_dict`` and
``except ValidationError`` keep working; Django owns its ``message``, which exists only when it
holds one message, so a handler never reads ``message`` of an ``Invalid``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise


class ApplicationError(Exception):
    """Something a member asked for cannot be done; the message says why."""

    code: str = "error"
    http_status: int = 400
    default_message: StrOrPromise = _("This could not be done.")
    message: StrOrPromise  # see the module docstring for Invalid's

    def __init__(
        self,
        message: StrOrPromise | None = None,
        *,
        code: str | None = None,
        http_status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = self.default_message if message is None else message
        super().__init__(self.message)
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.extra: dict[str, Any] = dict(extra or {})

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Messages about single fields of the request, by field name."""
        return {}

    @property
    def non_field_errors(self) -> list[str]:
        """Messages about the request as a whole."""
        return [str(self.message)]


class Invalid(ApplicationError, ValidationError):
    """The request's values are not acceptable: Django's ValidationError (a message, a list, or
    messages by field, ``"__all__"`` for the whole request) that is also an ApplicationError."""

    code = "invalid"

    def __init__(
        self,
        message: StrOrPromise | ValidationError | dict[str, Any] | list[Any],
        code: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        extra: dict[str, Any] | None = None,
    ) -> None:
        ValidationError.__init__(self, message, code, params)
        # Django's per-message code is a slug too; without one, the class says what went wrong.
        self.code = code or type(self).code
        self.extra = dict(extra or {})

    @classmethod
    def of(cls, error: ValidationError) -> Invalid:
        """Django's own ValidationError (a model's or a form's) as ours, with our code."""
        if isinstance(error, Invalid):
            return error
        return cls(error.error_dict if hasattr(error, "error_dict") else error.error_list)

    @property
    def field_errors(self) -> dict[str, list[str]]:
        if not hasattr(self, "error_dict"):
            return {}
        return {f: m for f, m in self.message_dict.items() if f != NON_FIELD_ERRORS}

    @property
    def non_field_errors(self) -> list[str]:
        if hasattr(self, "error_dict"):
            return self.message_dict.get(NON_FIELD_ERRORS, [])
        return self.messages


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    http_status = 403
    default_message = _("You do not have permission to do this.")


class NotFoundError(ApplicationError):
    code = "not_found"
    http_status = 404
    default_message = _("Not found.")


class ServiceUnavailable(ApplicationError):
    """A part the request needs is down or busy; trying again later may work."""

    code = "unavailable"
    http_status = 503
    default_message = _("This is not available right now; please try again in a moment.")


__all__ = [
    "ApplicationError",
    "Invalid",
    "NotFoundError",
    "PermissionDeniedError",
    "ServiceUnavailable",
]
