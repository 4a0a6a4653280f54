"""Bad input and outages never answer 500: oversized and deeply nested bodies, picture bombs,
odd avatar names, a dependency that is down, and the log-in lock-out on the APIs."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import pytest
import redis.exceptions
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from PIL import Image as PILImage
from PIL import PngImagePlugin
from rest_framework.test import APIClient

from accounts.avatars import avatar_process
from generation.sdapi import selectors as sdapi_selectors
from tests.accounts.factories import PASSWORD
from tests.modelhub.factories import ModelFileFactory

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/jobs/"
TXT2IMG = "/sdapi/v1/txt2img"
PNG_INFO = "/sdapi/v1/png-info"


def _basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def _png(size: tuple[int, int] = (16, 16), info: PngImagePlugin.PngInfo | None = None) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, (10, 20, 30)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _ztxt_bomb() -> bytes:
    """A small PNG whose compressed text chunk inflates past Pillow's text chunk limit."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "A" * (PngImagePlugin.MAX_TEXT_CHUNK + 1), zip=True)
    data = _png(info=info)
    assert len(data) < 10_000
    return data


def _claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    data = bytearray(_png())
    ihdr = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def _b64(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


@pytest.fixture
def api(member) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


@pytest.fixture
def sdapi(client: Client, member):
    def post(path: str, body: object) -> object:
        raw = body if isinstance(body, str) else json.dumps(body)
        return client.post(path, raw, content_type="application/json", **_basic(member.username))

    return post


# --- Bodies over the upload limit ------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_json_body_on_the_api_is_413_in_the_error_body(api):
    response = api.post(JOBS, {"prompt": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["status"] == 413
    assert response.json()["error"]["code"] == "too_large"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_form_body_on_the_api_is_413(api):
    response = api.post(JOBS, {"prompt": "x" * 2000})  # multipart
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_on_sdapi_is_413_in_a1111_shape(sdapi):
    response = sdapi(TXT2IMG, {"prompt": "x" * 2000})
    assert response.status_code == 413
    assert set(response.json()) == {"error", "detail", "body", "errors"}


# --- Deeply nested JSON ----------------------------------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000


def test_deeply_nested_json_on_the_api_is_a_parse_error(api):
    response = api.post(JOBS, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_moderately_nested_json_on_the_api_is_a_parse_error(api):
    body = '{"prompt": "x", "extra": ' + "[" * 200 + "]" * 200 + "}"
    response = api.post(JOBS, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_deeply_nested_json_on_sdapi_is_422(sdapi):
    response = sdapi(TXT2IMG, DEEP)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "value_error.jsondecode"


# --- Picture bombs ---------------------------------------------------------------------------


def test_ztxt_bomb_is_refused_as_an_avatar():
    with pytest.raises(ValidationError, match="metadata"):
        avatar_process(SimpleUploadedFile("me.png", _ztxt_bomb(), content_type="image/png"))


def test_ztxt_bomb_avatar_on_the_profile_page_is_a_form_error(member_client):
    avatar = SimpleUploadedFile("me.png", _ztxt_bomb(), content_type="image/png")
    response = member_client.post(
        reverse("accounts:profile_edit"), {"display_name": "Ada", "avatar": avatar}
    )
    assert response.status_code == 200
    assert "avatar" in response.context["form"].errors


def test_ztxt_bomb_as_img2img_starting_picture_is_400(api):
    ModelFileFactory(version__is_default=True)
    response = api.post(JOBS, {"prompt": "x", "init_image": _b64(_ztxt_bomb())}, format="json")
    assert response.status_code == 400
    assert "init_image" in response.json()["error"]["fields"]


def test_ztxt_bomb_in_png_info_is_422(sdapi):
    response = sdapi(PNG_INFO, {"image": _b64(_ztxt_bomb())})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image"]


@pytest.mark.parametrize("side", [10_000, 20_000])  # over Pillow's warning, over its error
def test_decompression_bomb_in_png_info_is_422(sdapi, side):
    response = sdapi(PNG_INFO, {"image": _b64(_claiming_size(side, side))})
    assert response.status_code == 422
    assert "too large" in response.json()["detail"][0]["msg"]


def test_png_info_still_reads_a_normal_picture(sdapi):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7")
    response = sdapi(PNG_INFO, {"image": _b64(_png(info=info))})
    assert response.status_code == 200
    assert response.json()["parameters"]["Steps"] == "20"


@pytest.mark.parametrize("name", ["%2e%2e", "%2e", ".hidden"])
def test_avatar_path_outside_the_files_is_404(client, name):
    default_storage.save("avatars/.hidden", io.BytesIO(_png()))
    assert client.get(f"/media/avatars/{name}").status_code == 404


# --- Outages ---------------------------------------------------------------------------------


def test_redis_down_inside_an_api_view_is_503_with_retry_after(api, monkeypatch, caplog):
    def down(**kwargs):
        raise redis.exceptions.ConnectionError("Connection refused.")

    monkeypatch.setattr("generation.api.views.jobs_of_user", down)
    response = api.get(JOBS)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "unavailable"
    assert [(r.name, r.levelname) for r in caplog.records if r.levelno >= 30] == [
        ("visionary.dependencies", "WARNING")
    ]


def test_redis_down_inside_an_sdapi_view_is_503_in_a1111_shape(client, member, monkeypatch):
    def down(**kwargs):
        raise redis.exceptions.ConnectionError("Connection refused.")

    monkeypatch.setattr(sdapi_selectors, "progress_view", down)
    response = client.get("/sdapi/v1/progress", **_basic(member.username))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "ServiceUnavailable"


# --- The log-in lock-out ---------------------------------------------------------------------


def _lock_out(client: Client, path: str, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.get(path, **_basic(username, "not-the-password"))


def test_lockout_on_the_api_is_json_429(client, member):
    _lock_out(client, JOBS, member.username)
    response = client.get(JOBS, **_basic(member.username))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"
    assert response.json()["error"]["status"] == 429
    assert int(response["Retry-After"]) > 0


def test_lockout_on_sdapi_is_json_429_in_a1111_shape(client, member):
    _lock_out(client, "/sdapi/v1/progress", member.username)
    response = client.get("/sdapi/v1/progress", **_basic(member.username))
    assert response.status_code == 429
    assert set(response.json()) == {"error", "detail", "body", "errors"}
