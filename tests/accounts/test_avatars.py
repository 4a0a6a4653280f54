"""accounts.avatars.avatar_process: only real, bounded images become avatars."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image as PILImage

from accounts.avatars import AVATAR_SIZE, avatar_process


def _upload(width: int, height: int, image_format: str = "PNG", name: str = "me.png"):
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (40, 90, 200)).save(out, format=image_format)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def _open(content) -> PILImage.Image:
    image = PILImage.open(io.BytesIO(content.read()))
    image.load()
    return image


def test_large_png_becomes_a_square_png_of_the_avatar_size():
    result = _open(avatar_process(_upload(400, 300)))

    assert result.format == "PNG"
    assert result.size == (AVATAR_SIZE, AVATAR_SIZE)


def test_small_image_is_cropped_square_without_upscaling():
    result = _open(avatar_process(_upload(100, 60)))

    assert result.size == (60, 60)


def test_result_is_named_as_png():
    assert avatar_process(_upload(32, 32)).name == "avatar.png"


def test_jpeg_is_accepted_and_re_encoded_as_png():
    result = _open(avatar_process(_upload(50, 50, "JPEG", name="me.jpg")))

    assert result.format == "PNG"


def test_text_file_renamed_png_is_rejected():
    upload = SimpleUploadedFile("me.png", b"just some text, honest", content_type="image/png")

    with pytest.raises(ValidationError) as excinfo:
        avatar_process(upload)

    assert excinfo.value.code == "not_an_image"


@override_settings(AVATAR_MAX_BYTES=64)
def test_file_over_the_byte_limit_is_rejected():
    upload = _upload(32, 32)
    assert upload.size > 64

    with pytest.raises(ValidationError) as excinfo:
        avatar_process(upload)

    assert excinfo.value.code == "too_large"


@override_settings(AVATAR_MAX_PIXELS=40)
def test_image_wider_than_the_pixel_limit_is_rejected():
    with pytest.raises(ValidationError) as excinfo:
        avatar_process(_upload(41, 10))

    assert excinfo.value.code == "too_many_pixels"


@override_settings(AVATAR_MAX_PIXELS=40)
def test_image_at_the_pixel_limit_is_accepted():
    assert _open(avatar_process(_upload(40, 40))).size == (40, 40)


def test_unsupported_format_is_rejected():
    with pytest.raises(ValidationError) as excinfo:
        avatar_process(_upload(32, 32, "BMP", name="me.png"))

    assert excinfo.value.code == "bad_format"
