"""Writes for accounts: registration, profile, language, deletion."""

from __future__ import annotations

import logging
import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.personal_data import file_delete_on_commit, personal_data_handlers

logger = logging.getLogger(__name__)


@transaction.atomic
def user_register(*, username: str, email: str, password: str, language: str = "") -> User:
    user = User(username=username, email=User.objects.normalize_email(email), language=language)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    logger.info("user registered", extra={"user_id": user.pk})
    return user


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    display_name: str,
    bio: str,
    avatar: ContentFile[bytes] | None = None,
    remove_avatar: bool = False,
) -> User:
    user.display_name = display_name
    user.bio = bio
    old_avatar = user.avatar.name if user.avatar else ""
    if avatar is not None:
        user.avatar.save("avatar.png", avatar, save=False)
        file_delete_on_commit(old_avatar)
    elif remove_avatar and old_avatar:
        user.avatar = ""
        file_delete_on_commit(old_avatar)
    user.save(update_fields=["display_name", "bio", "avatar"])
    return user


@transaction.atomic
def user_language_set(*, user: User, language: str) -> User:
    user.language = language
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Remove personal data (each app erases its own part through accounts.personal_data).
    Published pictures and shared models stay, credited to nobody."""
    for handler in personal_data_handlers():
        if handler.erase is not None:
            handler.erase(user)
    file_delete_on_commit(user.avatar.name)

    anonymous = f"deleted-{uuid.uuid4().hex[:12]}"
    user.username = anonymous
    user.email = f"{anonymous}@deleted.invalid"
    user.first_name = user.last_name = user.display_name = user.bio = user.language = ""
    user.avatar = ""
    user.set_unusable_password()
    user.is_active = user.is_staff = user.is_superuser = False
    user.deleted_at = timezone.now()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    logger.info("user deleted and anonymised", extra={"user_id": user.pk})
