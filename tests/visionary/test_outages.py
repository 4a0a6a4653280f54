"""A shared service that is down (Redis, the database, the broker) answers pages with a 503 that
asks to retry, never a traceback or a 500."""

from __future__ import annotations

import logging
import socket

import kombu.exceptions
import pytest
import redis.exceptions
from django import db
from django.test import override_settings

from gallery import views as gallery_views

pytestmark = pytest.mark.django_db


def _failing(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        db.OperationalError(2006, "MySQL server has gone away"),
        db.InterfaceError("connection already closed"),
        kombu.exceptions.OperationalError("[Errno 111] Connection refused"),
    ],
    ids=type,
)
def test_a_service_outage_answers_503_with_retry_after(client, monkeypatch, caplog, error):
    monkeypatch.setattr(gallery_views, "images_published", _failing(error))

    with caplog.at_level(logging.WARNING, logger="visionary.dependencies"):
        response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.content.decode()
    assert any(record.levelno == logging.WARNING for record in caplog.records)


def test_other_errors_still_reach_the_500_handler(client, monkeypatch):
    client.raise_request_exception = False
    monkeypatch.setattr(gallery_views, "images_published", _failing(RuntimeError("bug")))

    assert client.get("/").status_code == 500


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cache_down() -> override_settings:
    """The shared cache on a loopback port nothing listens on: every call is refused at once."""
    location = f"redis://127.0.0.1:{_free_port()}/0"
    options = {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
    backend = "django_redis.cache.RedisCache"
    return override_settings(
        CACHES={"default": {"BACKEND": backend, "LOCATION": location, "OPTIONS": options}}
    )


@pytest.mark.parametrize("path", ["/", "/gallery/", "/models/", "/live/", "/accounts/login/"])
def test_pages_that_only_read_the_database_work_with_the_cache_down(client, path):
    with _cache_down():
        assert client.get(path).status_code == 200
