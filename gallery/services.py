"""Writes for the gallery."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from gallery.models import Image


class NotYourImage(PermissionError):
    pass


@transaction.atomic
def image_publish(*, image: Image, user: User) -> Image:
    if image.owner_id != user.pk:
        raise NotYourImage
    if not image.is_published:
        image.is_published = True
        image.published_at = timezone.now()
        image.save(update_fields=["is_published", "published_at"])
    return image


@transaction.atomic
def image_unpublish(*, image: Image, user: User) -> Image:
    if image.owner_id != user.pk:
        raise NotYourImage
    image.is_published = False
    image.published_at = None
    image.save(update_fields=["is_published", "published_at"])
    return image
