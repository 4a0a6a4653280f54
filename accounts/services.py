"""Writes for accounts: registration, profile, language, deletion."""

from __future__ import annotations

import logging
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User

logger = logging.getLogger(__name__)


def _delete_file_on_commit(name: str | None) -> None:
    """Files go only once the rows that point at them are gone for good."""
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


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
        _delete_file_on_commit(old_avatar)
    elif remove_avatar and old_avatar:
        user.avatar = ""
        _delete_file_on_commit(old_avatar)
    user.save(update_fields=["display_name", "bio", "avatar"])
    return user


@transaction.atomic
def user_language_set(*, user: User, language: str) -> User:
    user.language = language
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Remove personal data. Published pictures and shared models stay, credited to nobody."""
    from gallery.models import Image
    from generation.models import GenerationJob
    from social.models import Follow

    private_images = Image.objects.filter(owner=user, is_published=False)
    for name in private_images.values_list("file", flat=True):
        _delete_file_on_commit(name)
    private_images.delete()
    # Prompts of unpublished work are personal; published images keep their own copy of the recipe.
    jobs = GenerationJob.objects.filter(user=user)
    for name in jobs.exclude(init_image="").values_list("init_image", flat=True):
        _delete_file_on_commit(name)  # img2img starting pictures are the member's uploads
    jobs.delete()
    Follow.objects.filter(follower=user).delete()
    Follow.objects.filter(followee=user).delete()
    _delete_file_on_commit(user.avatar.name)

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
