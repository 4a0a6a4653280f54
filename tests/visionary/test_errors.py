"""Error pages: friendly, translated where possible, never a traceback."""

from __future__ import annotations

from django.test import Client, override_settings
from django.urls import path

SECRET_DETAIL = "internal-detail-that-must-not-leak"


def _broken_view(request):
    raise RuntimeError(SECRET_DETAIL)


# This module doubles as the URLconf for the 500 test.
urlpatterns = [path("boom/", _broken_view)]


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
