"""A signed-in member's saved language wins over the cookie and the browser's Accept-Language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.functional import empty

_UNSET = object()


def _language(user: object) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return getattr(user, "language", "") or ""


def _user_loaded(request: HttpRequest) -> object | None:
    """The user the view worked with, if it loaded one (a sync view reads the lazy
    ``request.user``; DRF's authentication replaces it), without a query from the event loop."""
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    return None if wrapped is empty else wrapped


class UserLanguageMiddleware:
    """Sync and async (an async view then runs with no thread held for the middleware chain)."""

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        self._language_activate(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        return self._cookie_set(request, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        # No lazy user in async code: it would query the database from the event loop.
        user = await request.auser() if hasattr(request, "auser") else None
        self._language_activate(request, user)
        response = await self.get_response(request)  # type: ignore[misc]
        return self._cookie_set(request, response, _user_loaded(request) or user)

    def _language_activate(self, request: HttpRequest, user: object = _UNSET) -> None:
        language = _language(getattr(request, "user", None) if user is _UNSET else user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language

    def _cookie_set(
        self, request: HttpRequest, response: HttpResponseBase, user: object = _UNSET
    ) -> HttpResponseBase:
        # Read again: the view may have just changed it (settings page, language switch).
        language = _language(getattr(request, "user", None) if user is _UNSET else user)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
