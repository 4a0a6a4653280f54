"""Uploaded pictures, proven to be real images of bounded size before anything uses them."""

from __future__ import annotations

import io
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


def image_upload_open(upload: IO[bytes] | bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Decode an upload into a loaded PIL image, or raise ValidationError saying what is wrong:
    too many bytes, not PNG/JPEG/WebP/GIF, too many pixels a side (or in all: Pillow's
    decompression bomb limit), text metadata that inflates too far, or not an image at all."""
    data = upload if isinstance(upload, bytes) else None
    if data is None:
        assert not isinstance(upload, bytes)
        upload.seek(0)
        data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(
            _("The picture must be at most %(mb)s MB.") % {"mb": round(max_bytes / 1024**2, 1)},
            code="too_large",
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            probe.verify()
        if image_format not in ALLOWED_FORMATS:
            raise ValidationError(_("Upload a PNG, JPEG, WebP or GIF image."), code="bad_format")
        if max(width, height) > max_pixels:
            raise ValidationError(
                _("The picture must be at most %(px)s pixels wide and high.") % {"px": max_pixels},
                code="too_many_pixels",
            )
        image = Image.open(io.BytesIO(data))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(
            _("The picture must be at most %(px)s pixels wide and high.") % {"px": max_pixels},
            code="too_many_pixels",
        ) from exc
    except ValueError as exc:
        # Pillow's refusal of a text chunk that inflates past its limit (a zTXt/iTXt bomb).
        raise ValidationError(
            _("The picture's text metadata is too large or damaged."), code="bad_metadata"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationError(
            _("This file is not an image we can read."), code="not_an_image"
        ) from exc
    return image
