"""Error pages and the one error base: friendly, translated where possible, never a traceback;
an ApplicationError answers with its status, code and message on pages, /api/ and /sdapi/."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from generation.errors import GenerationRejected, NotYourJob, PromptBlocked
from generation.sdapi.views import SdApiView
from visionary import urls as site_urls
from visionary.errors import ApplicationError, Invalid, ServiceUnavailable

SECRET_DETAIL = "internal-detail-that-must-not-leak"
MIDDLEWARE = "visionary.middleware.ApplicationErrorMiddleware"


class ModelBusy(ServiceUnavailable):
    code = "model_busy"
    default_message = "The model is busy; try again in a minute."


def _broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_DETAIL)


def _busy_page(request: HttpRequest) -> HttpResponse:
    raise ModelBusy(extra={"retry_after": 60})


def _rejected_page(request: HttpRequest) -> HttpResponse:
    raise GenerationRejected({"steps": ["Too many steps."], "__all__": ["Try fewer."]})


def _not_your_job_page(request: HttpRequest) -> HttpResponse:
    raise NotYourJob


class _BusyApiView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise ModelBusy(extra={"retry_after": 60})


class _BusySdApiView(SdApiView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise ModelBusy


# This module doubles as the URLconf for the tests below; the site's own URLs serve base.html.
urlpatterns = [
    path("boom/", _broken_view),
    path("busy/", _busy_page),
    path("rejected/", _rejected_page),
    path("not-yours/", _not_your_job_page),
    path("api/v1/busy/", _BusyApiView.as_view()),
    path("sdapi/v1/busy", _BusySdApiView.as_view()),
    *site_urls.urlpatterns,
]


@pytest.fixture
def error_pages(settings) -> None:
    settings.ROOT_URLCONF = __name__
    if MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]


def test_missing_page_shows_the_friendly_404(client, db):
    response = client.get("/there/is/nothing/here/")

    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    assert "Page not found" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_exception_in_a_view_shows_the_friendly_500_without_traceback(db):
    response = Client(raise_request_exception=False).get("/boom/")

    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert SECRET_DETAIL not in body
    assert "Traceback" not in body


def test_application_error_on_a_page_is_an_error_page_with_its_status_and_message(db, error_pages):
    response = Client(raise_request_exception=False).get("/busy/")

    body = response.content.decode()
    assert response.status_code == 503
    assert "error.html" in [t.name for t in response.templates]
    assert "The model is busy; try again in a minute." in body
    assert "Traceback" not in body and "ModelBusy" not in body


def test_validation_error_on_a_page_is_the_400_page_with_all_its_messages(db, error_pages):
    response = Client(raise_request_exception=False).get("/rejected/")

    body = response.content.decode()
    assert response.status_code == 400
    assert "400.html" in [t.name for t in response.templates]
    assert "Too many steps." in body and "Try fewer." in body


def test_not_your_job_on_a_page_is_the_404_page(db, error_pages):
    response = Client(raise_request_exception=False).get("/not-yours/")

    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]


def test_application_error_under_api_is_the_error_body_with_its_extras(db, error_pages):
    response = Client().get("/api/v1/busy/")

    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "status": 503,
            "code": "model_busy",
            "message": "The model is busy; try again in a minute.",
            "retry_after": 60,
        }
    }


def test_application_error_under_sdapi_is_an_a1111_runtime_error(db, error_pages):
    response = Client().get("/sdapi/v1/busy")

    assert response.status_code == 503
    assert response.json() == {
        "error": "ModelBusy",
        "detail": "",
        "body": "",
        "errors": "The model is busy; try again in a minute.",
    }


def test_an_application_error_carries_its_class_defaults_unless_told_otherwise():
    default = ModelBusy()
    told = ApplicationError("Gone.", code="gone", http_status=410, extra={"id": 3})

    assert (default.code, default.http_status, str(default)) == (
        "model_busy",
        503,
        "The model is busy; try again in a minute.",
    )
    assert (told.code, told.http_status, told.extra) == ("gone", 410, {"id": 3})
    assert told.non_field_errors == ["Gone."] and told.field_errors == {}


def test_invalid_is_still_a_django_validation_error():
    error = GenerationRejected({"steps": ["Too many."], "__all__": ["And more."]})

    assert isinstance(error, ValidationError) and isinstance(error, ApplicationError)
    assert error.message_dict == {"steps": ["Too many."], "__all__": ["And more."]}
    assert (error.code, error.http_status) == ("invalid", 400)
    assert error.field_errors == {"steps": ["Too many."]}
    assert error.non_field_errors == ["And more."]
    single = GenerationRejected("Cancel the job before deleting it.")
    assert single.message == "Cancel the job before deleting it."
    assert single.messages == ["Cancel the job before deleting it."]


def test_django_validation_error_becomes_invalid_with_our_code():
    error = Invalid.of(ValidationError("Upload a PNG.", code="bad_format"))

    assert error.code == "invalid"
    assert error.non_field_errors == ["Upload a PNG."]


def test_prompt_blocked_heads_its_answer_and_names_category_and_job():
    error = PromptBlocked("Refused.", field="prompt", category="hate", job_id=7)

    assert error.code == "prompt_blocked"
    assert error.field_errors == {"prompt": ["Refused."]}
    assert error.non_field_errors == ["Refused."]
    assert error.extra == {"category": "hate", "job": 7}
