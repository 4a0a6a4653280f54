"""The API tokens section of the settings page: list, create (shown once), revoke."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.api_tokens import api_token_create, api_token_user
from accounts.models import ApiToken
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

SETTINGS = "/accounts/settings/"
NEW = "/accounts/settings/tokens/"


def test_settings_page_lists_my_tokens_without_the_tokens(member_client: Client, member):
    _token, raw = api_token_create(user=member, name="laptop script")
    api_token_create(user=UserFactory(), name="someone else's")
    html = member_client.get(SETTINGS).content.decode()
    assert "laptop script" in html and raw[:10] in html
    assert raw not in html
    assert "someone else" not in html


def test_creating_a_token_shows_it_once(member_client: Client, member):
    response = member_client.post(NEW, {"token-name": "bot"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=member)
    html = response.content.decode()
    raw = html.split('id="new-token" class="token-value" value="', 1)[1].split('"', 1)[0]
    assert api_token_user(raw) == member and token.name == "bot"
    assert "no-store" in response["Cache-Control"]
    assert raw not in member_client.get(SETTINGS).content.decode()


def test_a_duplicate_name_is_an_error_on_the_form(member_client: Client, member):
    api_token_create(user=member, name="bot")
    response = member_client.post(NEW, {"token-name": "bot"})
    assert response.status_code == 400
    assert "You already have a token with this name." in response.content.decode()
    assert ApiToken.objects.filter(user=member).count() == 1


def test_revoke_my_token(member_client: Client, member):
    token, raw = api_token_create(user=member, name="bot")
    response = member_client.post(f"/accounts/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert api_token_user(raw) is None


def test_revoke_needs_post(member_client: Client, member):
    token, _raw = api_token_create(user=member, name="bot")
    assert member_client.get(f"/accounts/settings/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_another_members_token_is_not_found(member_client: Client):
    token, raw = api_token_create(user=UserFactory(), name="theirs")
    response = member_client.post(f"/accounts/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    assert api_token_user(raw) is not None


def test_token_pages_need_sign_in(client: Client, member):
    token, _raw = api_token_create(user=member, name="bot")
    assert client.post(NEW, {"token-name": "x"}).status_code == 302
    assert client.post(f"/accounts/settings/tokens/{token.pk}/revoke/").status_code == 302
    assert ApiToken.objects.count() == 1
