"""Reads for the social graph."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import User
from gallery.models import Image
from gallery.selectors import images_published


def feed_for_user(*, user: User) -> QuerySet[Image]:
    """Published pictures of the members the user follows, newest first."""
    return images_published().filter(owner__followers__follower=user)


def is_following(*, follower: AbstractBaseUser | AnonymousUser, followee: User) -> bool:
    if not follower.is_authenticated:
        return False
    return followee.followers.filter(follower_id=follower.pk).exists()
