"""Production settings pass Django's deployment checks and refuse to start without secrets."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

# Only what a process needs to run; nothing from the developer's shell reaches the settings.
_PASSTHROUGH = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key in _PASSTHROUGH}
    env.update(
        DJANGO_SETTINGS_MODULE="visionary.settings.production",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        ALLOWED_HOSTS="visionary.example",
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:6379/0",
        VISIONARY_DATA_DIR=str(tmp_path),
        HF_HUB_OFFLINE="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check(production_env):
    result = _manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_load_without_secret_key(production_env):
    del production_env["SECRET_KEY"]

    result = _manage(production_env, "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_refuse_to_load_without_allowed_hosts(production_env):
    del production_env["ALLOWED_HOSTS"]

    result = _manage(production_env, "check")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr
