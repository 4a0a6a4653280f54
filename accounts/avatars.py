"""Avatar uploads: proven to be a real image of bounded size, then re-encoded (drops metadata)."""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile

from visionary.uploads import image_upload_open

AVATAR_SIZE = 256


def avatar_process(upload: UploadedFile) -> ContentFile[bytes]:
    """Validate an uploaded avatar and return a square PNG of at most AVATAR_SIZE pixels."""
    image = image_upload_open(
        upload, max_bytes=settings.AVATAR_MAX_BYTES, max_pixels=settings.AVATAR_MAX_PIXELS
    ).convert("RGBA")
    side = min(image.size)
    left = (image.width - side) // 2
    top = (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    image.thumbnail((AVATAR_SIZE, AVATAR_SIZE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name="avatar.png")
