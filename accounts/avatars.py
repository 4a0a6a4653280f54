"""Avatar uploads: proven to be a real image of bounded size, then re-encoded (drops metadata)."""

from __future__ import annotations

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

AVATAR_SIZE = 256
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


def avatar_process(upload: UploadedFile) -> ContentFile[bytes]:
    """Validate an uploaded avatar and return a square PNG of at most AVATAR_SIZE pixels."""
    if upload.size is None or upload.size > settings.AVATAR_MAX_BYTES:
        raise ValidationError(
            _("The avatar must be at most %(mb)s MB.")
            % {"mb": round(settings.AVATAR_MAX_BYTES / 1024 / 1024, 1)},
            code="too_large",
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            image_format = probe.format
            width, height = probe.size
            probe.verify()
        if image_format not in ALLOWED_FORMATS:
            raise ValidationError(_("Upload a PNG, JPEG, WebP or GIF image."), code="bad_format")
        if max(width, height) > settings.AVATAR_MAX_PIXELS:
            raise ValidationError(
                _("The avatar must be at most %(px)s pixels wide and high.")
                % {"px": settings.AVATAR_MAX_PIXELS},
                code="too_many_pixels",
            )
        upload.seek(0)
        with Image.open(upload) as source:
            image = source.convert("RGBA")
        side = min(image.size)
        left = (image.width - side) // 2
        top = (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        image.thumbnail((AVATAR_SIZE, AVATAR_SIZE))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError(
            _("This file is not an image we can read."), code="not_an_image"
        ) from exc
    return ContentFile(out.getvalue(), name="avatar.png")
