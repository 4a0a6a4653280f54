"""DRF authentication by API token (Bearer) or HTTP Basic (password or token)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.api_tokens import basic_auth_user, bearer_token_user


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer va_...``; a wrong token is a 401, not an anonymous request."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.split(" ", 1)[0].lower() not in {"bearer", "token"}:
            return None
        user = bearer_token_user(request._request)
        if user is None:
            raise AuthenticationFailed("Invalid or revoked API token.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class BasicCredentialsAuthentication(BaseAuthentication):
    """HTTP Basic with site credentials or an API token as the password (A1111 clients)."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.split(" ", 1)[0].lower() != "basic":
            return None
        user = basic_auth_user(request._request)
        if user is None:
            raise AuthenticationFailed("Invalid username, password or token.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="api"'
