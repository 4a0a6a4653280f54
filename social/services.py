"""Writes for the social graph."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from social.models import Follow


class CannotFollowSelf(ValueError):
    pass


@transaction.atomic
def follow_create(*, follower: User, followee: User) -> Follow:
    if follower.pk == followee.pk:
        raise CannotFollowSelf
    follow, _ = Follow.objects.get_or_create(follower=follower, followee=followee)
    return follow


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> None:
    Follow.objects.filter(follower=follower, followee=followee).delete()
