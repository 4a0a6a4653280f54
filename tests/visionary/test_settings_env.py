"""visionary.settings.env: typed environment readers that fail loudly on bad values."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from visionary.settings.env import env_bool, env_int, env_list, env_path, env_str, env_url

NAME = "VISIONARY_TEST_SETTING"
DEFAULT_DB = "sqlite:////tmp/default.sqlite3"


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)


def test_str_default_when_unset():
    assert env_str(NAME, "fallback") == "fallback"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv(NAME, raw)

    assert env_bool(NAME, not expected) is expected


def test_bool_default_when_unset():
    assert env_bool(NAME, True) is True


def test_bool_rejects_other_words(monkeypatch):
    monkeypatch.setenv(NAME, "maybe")

    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_bool(NAME, False)


def test_int_reads_a_number(monkeypatch):
    monkeypatch.setenv(NAME, " 42 ")

    assert env_int(NAME, 1) == 42


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_int_default_when_unset_or_empty(monkeypatch, raw):
    if raw is not None:
        monkeypatch.setenv(NAME, raw)

    assert env_int(NAME, 7) == 7


def test_int_rejects_a_non_number(monkeypatch):
    monkeypatch.setenv(NAME, "ten")

    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_int(NAME, 1)


def test_int_rejects_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv(NAME, "0")

    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int(NAME, 5, minimum=1)


def test_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv(NAME, "a.example, b.example,,")

    assert env_list(NAME, []) == ["a.example", "b.example"]


def test_url_accepts_an_allowed_scheme(monkeypatch):
    monkeypatch.setenv(NAME, "mysql://root@db:3306/visionary")

    assert (
        env_url(NAME, DEFAULT_DB, schemes=("sqlite", "mysql")) == "mysql://root@db:3306/visionary"
    )


def test_url_rejects_another_scheme(monkeypatch):
    monkeypatch.setenv(NAME, "postgres://db/visionary")

    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_url(NAME, DEFAULT_DB, schemes=("sqlite", "mysql"))


def test_url_default_when_unset():
    assert env_url(NAME, DEFAULT_DB, schemes=("sqlite",)) == DEFAULT_DB


def test_empty_url_falls_back_to_the_default(monkeypatch):
    # CI runs the embedded suite with DATABASE_URL= and REDIS_URL= (set but empty).
    monkeypatch.setenv(NAME, "")

    assert env_url(NAME, DEFAULT_DB, schemes=("sqlite",)) == DEFAULT_DB


def test_empty_url_with_an_empty_default_stays_empty(monkeypatch):
    monkeypatch.setenv(NAME, "")

    assert env_url(NAME, "", schemes=("redis",)) == ""


def test_path_is_resolved(monkeypatch, tmp_path):
    monkeypatch.setenv(NAME, str(tmp_path / "data" / ".." / "data"))

    assert env_path(NAME, Path("/unused")) == (tmp_path / "data").resolve()


# --- Production settings read from the environment -------------------------------------------


def _production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> types.ModuleType:
    """Loads visionary.settings.production afresh under ``env`` (the test's modules come back after)."""
    import visionary.settings

    base_env = {
        "SECRET_KEY": "production-test-" + "k3y-" * 12,
        "ALLOWED_HOSTS": "visionary.example",
        "DATABASE_URL": "mysql://root@127.0.0.1:3306/unused",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "VISIONARY_DATA_DIR": str(tmp_path),
    }
    for name in ("CELERY_BROKER_URL", "DATABASE_CONN_MAX_AGE", "VISIONARY_TEST_ALLOW_NO_REDIS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**base_env, **env}.items():
        monkeypatch.setenv(name, value)
    for name in ("base", "production"):
        monkeypatch.delitem(sys.modules, f"visionary.settings.{name}", raising=False)
        monkeypatch.setattr(visionary.settings, name, None, raising=False)
    return importlib.import_module("visionary.settings.production")


def test_production_refuses_to_start_without_redis_url(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be set"):
        _production(monkeypatch, tmp_path, REDIS_URL="")


def test_production_refuses_an_in_memory_broker(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL must not be memory"):
        _production(monkeypatch, tmp_path, CELERY_BROKER_URL="memory://localhost/")


def test_production_starts_with_redis(monkeypatch, tmp_path):
    settings = _production(monkeypatch, tmp_path)

    assert settings.CELERY_BROKER_URL == "redis://127.0.0.1:6379/0"


def test_production_closes_database_connections_after_each_request(monkeypatch, tmp_path):
    settings = _production(monkeypatch, tmp_path)

    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0


def test_database_connections_may_persist_when_asked(monkeypatch, tmp_path):
    settings = _production(monkeypatch, tmp_path, DATABASE_CONN_MAX_AGE="30")

    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 30


def test_channel_layer_pool_outgrows_redis_py_default(monkeypatch, tmp_path):
    # redis-py 8's asyncio pool holds 100 connections and then raises MaxConnectionsError.
    settings = _production(monkeypatch, tmp_path)

    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    assert host["max_connections"] == 1000
