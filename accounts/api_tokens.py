"""API tokens: made, revoked and checked here; views, DRF and the A1111 API call these."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, User

TOKEN_PREFIX = "va_"  # noqa: S105 - a public marker, not a secret
# last_used_at is written at most this often per token: reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token itself (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    if user.api_tokens.count() >= settings.API_TOKENS_PER_USER:
        raise ValidationError(
            _("You have %(n)s tokens already; revoke one first.")
            % {"n": settings.API_TOKENS_PER_USER}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user, name=name, prefix=raw[:10], key_hash=_hash(raw)
            )
    except IntegrityError as exc:
        raise ValidationError({"name": _("You already have a token with this name.")}) from exc
    return token, raw


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> None:
    """Delete one of ``user``'s tokens; another member's token is left alone (404 upstream)."""
    deleted, _rows = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise ApiToken.DoesNotExist


def api_token_user(raw: str) -> User | None:
    """The active member a token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(raw)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def basic_auth_user(request: HttpRequest) -> User | None:
    """HTTP Basic credentials (A1111's --api-auth style): a member's username or e-mail with
    their password, or any username with an API token as the password. Failed passwords count
    towards the login lock-out like the login form's."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    token_user = api_token_user(password)
    if token_user is not None:
        return token_user
    user = authenticate(request, username=username, password=password)
    return user if isinstance(user, User) and user.is_active else None


def bearer_token_user(request: HttpRequest) -> User | None:
    """``Authorization: Bearer <token>`` (or ``Token <token>``)."""
    scheme, _sep, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() not in {"bearer", "token"}:
        return None
    return api_token_user(raw.strip())
