"""REST API for the signed-in member: /api/v1/me/ and their tokens."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create, api_token_user
from accounts.models import ApiToken
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(member) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/tokens/"])
def test_member_endpoints_need_credentials(path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_me_is_the_current_member(api, member):
    body = api.get("/api/v1/me/").json()
    assert body["username"] == member.username and body["email"] == member.email
    assert "password" not in body


def test_me_works_with_basic_and_a_token_as_password(member):
    _token, raw = api_token_create(user=member, name="a1111")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + _b64(f"anyone:{raw}"))
    assert client.get("/api/v1/me/").json()["id"] == member.pk


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_create_token_shows_it_once(api, member):
    response = api.post("/api/v1/tokens/", {"name": "bot"}, format="json")
    assert response.status_code == 201
    raw = response.json()["token"]
    assert api_token_user(raw) == member
    listed = api.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["bot"]
    assert "token" not in listed[0] and raw not in str(listed)
    assert listed[0]["prefix"] == raw[:10]


def test_token_name_errors_use_the_error_body(api):
    api.post("/api/v1/tokens/", {"name": "bot"}, format="json")
    duplicate = api.post("/api/v1/tokens/", {"name": "bot"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["fields"] == {
        "name": ["You already have a token with this name."]
    }
    blank = api.post("/api/v1/tokens/", {"name": "  "}, format="json")
    assert blank.status_code == 400 and "name" in blank.json()["error"]["fields"]


def test_too_many_tokens_is_a_general_message(api, settings):
    settings.API_TOKENS_PER_USER = 1
    api.post("/api/v1/tokens/", {"name": "a"}, format="json")
    response = api.post("/api/v1/tokens/", {"name": "b"}, format="json")
    assert response.status_code == 400
    assert "revoke one first" in response.json()["error"]["message"]


def test_revoke_my_token(api, member):
    token, raw = api_token_create(user=member, name="bot")
    assert api.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert api_token_user(raw) is None


def test_another_members_token_is_not_found(api):
    token, _raw = api_token_create(user=UserFactory(), name="theirs")
    response = api.delete(f"/api/v1/tokens/{token.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert api.get("/api/v1/tokens/").json()["count"] == 0
