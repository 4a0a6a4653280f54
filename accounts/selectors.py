"""Reads for accounts."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User


def users_active() -> QuerySet[User]:
    return User.objects.filter(is_active=True, deleted_at__isnull=True)
