"""Sign in with either the username or the e-mail address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest

if TYPE_CHECKING:
    from accounts.models import User


def _account_for(identifier: str) -> User | None:
    return (
        get_user_model()
        ._default_manager.filter(Q(username=identifier) | Q(email__iexact=identifier))
        .order_by("pk")
        .first()
    )


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """AXES_USERNAME_CALLABLE: count failures per account, however the name or e-mail is typed.

    Without it, axes keys on the raw input, so "a@x.com", "A@X.COM" and the username each got
    their own failure budget and the e-mail login bypassed the lockout.
    """
    data = credentials if credentials is not None else getattr(request, "POST", {})
    identifier = str(data.get("username") or "").strip()
    user = _account_for(identifier) if identifier else None
    return user.get_username() if user is not None else identifier.lower()


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        user = _account_for(username)
        if user is None:
            # Spend the same time as a real check so response times do not reveal accounts.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
