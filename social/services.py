"""Writes for the social graph."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from social.models import Follow
from visionary.errors import ApplicationError


class CannotFollowSelf(ApplicationError):
    code = "cannot_follow_self"
    default_message = _("You cannot follow yourself.")


@transaction.atomic
def follow_create(*, follower: User, followee: User) -> Follow:
    if follower.pk == followee.pk:
        raise CannotFollowSelf
    follow, _ = Follow.objects.get_or_create(follower=follower, followee=followee)
    return follow


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> None:
    Follow.objects.filter(follower=follower, followee=followee).delete()
