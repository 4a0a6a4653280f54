"""The one error body of /api/: every 4xx looks the same; other DRF views keep DRF's default."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient, APIRequestFactory

from generation.errors import GenerationRejected, NotYourJob
from visionary.api.errors import api_exception_handler

pytestmark = pytest.mark.django_db


def _handle(exc: Exception, path: str = "/api/v1/jobs/"):
    request = APIRequestFactory().get(path)
    return api_exception_handler(exc, {"request": request, "view": None})


def test_service_rejection_with_fields():
    response = _handle(GenerationRejected({"steps": ["Too many."], "__all__": ["And more."]}))
    assert response.status_code == 400
    assert response.data == {
        "error": {
            "status": 400,
            "code": "invalid",
            "message": "And more.",
            "fields": {"steps": ["Too many."]},
        }
    }


def test_service_rejection_without_fields():
    response = _handle(ValidationError("You already have 10 pictures waiting."))
    assert response.data["error"]["message"] == "You already have 10 pictures waiting."
    assert "fields" not in response.data["error"]


def test_not_your_job_is_not_found():
    response = _handle(NotYourJob())
    assert response.status_code == 404
    assert response.data["error"]["code"] == "not_found"


def test_a_bug_is_a_500_without_a_traceback(caplog):
    response = _handle(RuntimeError("secret internals"))
    assert response.status_code == 500
    assert response.data["error"]["code"] == "server_error"
    assert "secret" not in str(response.data)


def test_outside_api_drf_default_applies():
    response = _handle(ValidationError("nope"), path="/sdapi/v1/txt2img")
    assert response is None  # Django errors are not DRF's business there
    from rest_framework.exceptions import NotFound

    assert _handle(NotFound(), path="/sdapi/v1/x").data == {"detail": "Not found."}


def test_unknown_api_path_is_404_in_the_error_body():
    response = APIClient().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_in_the_error_body(member):
    client = APIClient()
    client.force_authenticate(member)
    response = client.put("/api/v1/me/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_400_in_the_error_body(member):
    client = APIClient()
    client.force_authenticate(member)
    response = client.post("/api/v1/jobs/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_anonymous_rate_is_per_ip(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/min", "user": "100/min", "job_create": "1/min"},
    }
    client = APIClient()
    assert client.get("/api/v1/versions/", REMOTE_ADDR="10.0.0.1").status_code == 200
    throttled = client.get("/api/v1/versions/", REMOTE_ADDR="10.0.0.1")
    assert throttled.status_code == 429 and "Retry-After" in throttled
    assert client.get("/api/v1/versions/", REMOTE_ADDR="10.0.0.2").status_code == 200
