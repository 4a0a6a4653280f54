"""Web processes never load the engine: a fresh interpreter started with production settings
imports the URLconf and the ASGI app, runs `check` and GETs every URL pattern (admin included),
and none of torch, diffusers, transformers, onnxruntime or nudenet is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("web-probe")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.visionary.probe_settings",
        "SECRET_KEY": "probe-" + "k3y-" * 14,
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{data_dir / 'probe.sqlite3'}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "memory://localhost/",
        "VISIONARY_DATA_DIR": str(data_dir),
        "METRICS_REQUIRE_TOKEN": "0",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_FORMAT": "text",
        "PYTHONPATH": str(ROOT),
    }
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=300)
    script = [sys.executable, str(ROOT / "tests/visionary/web_process_probe.py")]
    done = subprocess.run(script, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_web_process_never_imports_the_engine(probe: dict[str, Any]) -> None:
    assert probe["settings"] == "tests.visionary.probe_settings"
    assert probe["engine_modules"] == []
    assert probe["worker_modules"] == []


def test_the_probe_reached_every_url_pattern_including_the_admin(probe: dict[str, Any]) -> None:
    requested = probe["requested"]
    assert probe["unreachable"] == [], "give these patterns a candidate argument in the probe"
    assert len(requested) > 100  # the admin alone has dozens
    for url in ("/", "/gallery/", "/models/", "/generate/", "/admin/", "/metrics", "/api/v1/jobs/"):
        assert url in requested
    assert "/admin/generation/generationjob/" in requested  # shows the workers' cache figures


def test_no_page_answers_with_a_server_error(probe: dict[str, Any]) -> None:
    errors = {url: code for url, code in probe["statuses"].items() if code >= 500}
    # /readyz names what is down: no worker thread runs in the probe (and no broker is set).
    assert errors == {"/readyz": 503}
