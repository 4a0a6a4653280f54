"""A member's follows in account deletion (registered in apps.py)."""

from __future__ import annotations

from accounts.models import User
from social.models import Follow


def follows_erase(user: User) -> None:
    Follow.objects.filter(follower=user).delete()
    Follow.objects.filter(followee=user).delete()
