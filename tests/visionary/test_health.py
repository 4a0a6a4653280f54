"""Liveness and readiness probes."""

from __future__ import annotations

from django.urls import reverse

from visionary import health


def test_healthz_answers_ok(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_lists_the_checks_when_everything_answers(client, db):
    response = client.get(reverse("readyz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": ["broker", "cache", "database"]}


def test_readyz_names_the_failing_cache(client, db, monkeypatch):
    def cache_down() -> None:
        raise ConnectionError("cache is unreachable")

    monkeypatch.setitem(health.CHECKS, "cache", cache_down)

    response = client.get(reverse("readyz"))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "down": {"cache": "ConnectionError"}}


def test_probes_are_never_cached(client, db):
    for name in ("healthz", "readyz"):
        assert "no-cache" in client.get(reverse(name))["Cache-Control"]
