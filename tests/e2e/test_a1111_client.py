"""A published AUTOMATIC1111 client (webuiapi) and plain HTTP against the real site (`manage.py
serve`, embedded worker): txt2img, img2img, progress mid-job, model switch, png-info round trip."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import webuiapi
from PIL import Image as PILImage

from tests.e2e.conftest import site_running

USERNAME = "alice"
PASSWORD = "a1111-client-password"
SETUP = f"""
from pathlib import Path
from django.conf import settings
from accounts.services import user_register
from modelhub.models import ModelVersion
from modelhub.services import model_register_diffusers
user_register(username={USERNAME!r}, email="alice@example.com", password={PASSWORD!r})
model_register_diffusers(
    name="Visionary Shapes Alt", version_name="v2",
    directory=Path(settings.MODELS_DIR) / "builtin/visionary-shapes-v1",
    base_model=ModelVersion.BaseModel.SHAPES, default_size=64, max_size=256,
)
"""


@dataclass(frozen=True)
class Site:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The site with a member and a second model registered before it starts."""
    data_dir = tmp_path_factory.mktemp("a1111-site")
    with site_running(data_dir, setup=[["shell", "-c", SETUP]]) as port:
        yield Site("127.0.0.1", port)


@pytest.fixture
def api(site: Site) -> webuiapi.WebUIApi:
    client = webuiapi.WebUIApi(host=site.host, port=site.port, sampler="Euler a", steps=4)
    client.set_auth(USERNAME, PASSWORD)
    return client


def test_txt2img_with_the_client(api):
    result = api.txt2img(prompt="a red circle", seed=1234, width=128, height=128)
    assert isinstance(result.image, PILImage.Image) and result.image.size == (128, 128)
    assert result.info["seed"] == 1234 and result.info["all_seeds"] == [1234]
    assert "Seed: 1234" in result.info["infotexts"][0]


def test_img2img_with_a_pil_image(api):
    start = PILImage.new("RGB", (128, 128), (200, 30, 30))
    result = api.img2img(
        images=[start], prompt="a red square", width=128, height=128, denoising_strength=0.5
    )
    assert result.image.size == (128, 128)
    assert result.info["denoising_strength"] == 0.5


def test_progress_polled_while_a_slow_job_runs(api, site):
    seen: list[float] = []
    done = threading.Event()

    def poll() -> None:
        watcher = webuiapi.WebUIApi(host=site.host, port=site.port)
        watcher.set_auth(USERNAME, PASSWORD)
        while not done.is_set():
            seen.append(watcher.get_progress()["progress"])
            time.sleep(0.1)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        result = api.txt2img(prompt="slow", steps=20, width=128, height=128, seed=5)
    finally:
        done.set()
        thread.join(timeout=10)
    assert len(result.images) == 1
    assert any(0 < p < 1 for p in seen), seen


def test_model_switch_through_options(api):
    titles = api.util_get_model_names()
    alt = next(t for t in titles if t.startswith("Visionary Shapes Alt v2"))
    api.util_set_model(alt)
    assert api.util_get_current_model() == alt
    result = api.txt2img(prompt="switched", width=64, height=64)
    assert result.info["sd_model_name"] == "Visionary Shapes Alt v2"
    api.set_options({"sd_model_checkpoint": "Visionary Shapes v1"})
    result = api.txt2img(prompt="back", width=64, height=64)
    assert result.info["sd_model_name"] == "Visionary Shapes v1"


def test_png_info_round_trip_of_a_generated_picture(api):
    result = api.txt2img(prompt="a cat", negative_prompt="dogs", seed=77, width=64, height=64)
    info = api.png_info(result.image)
    assert info.info == result.info["infotexts"][0]
    assert info.parameters["Seed"] == "77" and info.parameters["Prompt"] == "a cat"


def test_plain_http(site):
    url = f"{site.url}/sdapi/v1"
    assert requests.get(f"{url}/sd-models", timeout=10).status_code == 401
    response = requests.post(
        f"{url}/txt2img",
        json={"prompt": "plain", "steps": 3, "seed": 9, "width": 64, "height": 64},
        auth=(USERNAME, PASSWORD),
        timeout=60,
    )
    assert response.status_code == 200
    body = response.json()
    assert base64.b64decode(body["images"][0]).startswith(b"\x89PNG")
    assert '"seed": 9' in body["info"]
    bad = requests.post(
        f"{url}/txt2img", json={"prompt": "x", "width": 1000}, auth=(USERNAME, PASSWORD), timeout=10
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "width"]
