"""The prompt filter against the real site (`manage.py serve`, embedded worker, the shipped
starting terms): a refused prompt sent through the generate page in a browser, the REST API and
an AUTOMATIC1111 client is answered with the reason, recorded as a blocked job and never run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import webuiapi

from tests.e2e.conftest import ROOT, site_running

pytestmark = pytest.mark.e2e

USERNAME = "mallory"
PASSWORD = "safety-e2e-password"
SETUP = f"""
from accounts.services import user_register
user_register(username={USERNAME!r}, email="mallory@example.com", password={PASSWORD!r})
"""
REFUSED = "ｎ ｕ ｄ ｅ little girl, masterpiece"  # minors: full width, spread letters, combination
JOBS_REPORT = """
import json
from gallery.models import Image
from generation.models import GenerationJob
jobs = list(GenerationJob.objects.values("state", "blocked_category", "worker", "started_at"))
print(json.dumps({"jobs": jobs, "images": Image.all_objects.count()}, default=str))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("safety-site")
    with site_running(data_dir, setup=[["shell", "-c", SETUP]]) as port:
        yield f"http://127.0.0.1:{port}", data_dir


def _site_jobs(data_dir: Path) -> dict[str, object]:
    """What the site's own database holds (read through manage.py, as an operator would)."""
    env = {
        "DJANGO_SETTINGS_MODULE": "visionary.settings.embedded",
        "VISIONARY_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", JOBS_REPORT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return report


def test_a_refused_prompt_never_reaches_a_worker_on_any_way_in(site, browser, tmp_path):
    url, data_dir = site

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("summary[aria-label='Account menu']")
    page.goto(f"{url}/generate/")
    page.fill("#id_prompt", REFUSED)
    page.click("form.generate-form button[type=submit]")
    error = page.wait_for_selector(".field-error")
    assert "sexual content involving minors" in error.inner_text()
    assert "/generate/jobs/" not in page.url
    page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)

    response = requests.post(
        f"{url}/api/v1/jobs/",
        json={"prompt": REFUSED, "steps": 2},
        auth=(USERNAME, PASSWORD),
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "prompt_blocked"
    assert response.json()["error"]["category"] == "minors"

    client = webuiapi.WebUIApi(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]), steps=2)
    client.set_auth(USERNAME, PASSWORD)
    with pytest.raises(RuntimeError, match="PromptBlocked"):
        client.txt2img(prompt=REFUSED)

    report = _site_jobs(data_dir)
    assert report["images"] == 0
    assert [job["state"] for job in report["jobs"]] == ["blocked"] * 3
    assert all(job["blocked_category"] == "minors" for job in report["jobs"])
    assert all(job["worker"] == "" and job["started_at"] is None for job in report["jobs"])
