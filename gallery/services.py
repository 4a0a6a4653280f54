"""Writes for the gallery."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from gallery.models import Image
from visionary.errors import PermissionDeniedError

logger = logging.getLogger(__name__)


class NotYourImage(PermissionDeniedError):
    code = "not_your_image"
    default_message = _("Only the picture's owner may do this.")


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


def quarantine_purge(*, now: datetime | None = None) -> int:
    """Delete the withheld pictures kept longer than MODERATION_QUARANTINE_DAYS, files first (a
    file left without its row would never be found again). Returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MODERATION_QUARANTINE_DAYS)
    expired = Image.all_objects.filter(withheld_at__lt=cutoff)
    deleted = 0
    for image in expired.only("pk", "file").iterator():
        with transaction.atomic():
            if image.file.name:
                default_storage.delete(image.file.name)
            Image.all_objects.filter(pk=image.pk).delete()
        deleted += 1
    if deleted:
        logger.info("quarantine purged", extra={"deleted": deleted})
    return deleted
