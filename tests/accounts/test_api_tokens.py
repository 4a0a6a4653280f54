"""API tokens: shown once, stored hashed, revocable, usable as Bearer or Basic password."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.api_tokens import (
    api_token_create,
    api_token_revoke,
    api_token_user,
    basic_auth_user,
    bearer_token_user,
)
from accounts.models import ApiToken
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_token_is_returned_once_and_only_its_hash_is_stored(member):
    token, raw = api_token_create(user=member, name="my bot")
    assert raw.startswith("va_") and len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert stored.prefix == raw[:10]
    assert api_token_user(raw) == member
    assert stored.last_used_at is None
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_revoked_token_no_longer_works(member):
    token, raw = api_token_create(user=member, name="bot")
    api_token_revoke(user=member, token_id=token.pk)
    assert api_token_user(raw) is None


def test_another_members_token_cannot_be_revoked(member):
    token, raw = api_token_create(user=member, name="bot")
    with pytest.raises(ApiToken.DoesNotExist):
        api_token_revoke(user=UserFactory(), token_id=token.pk)
    assert api_token_user(raw) == member


def test_token_of_a_deactivated_member_is_refused(member):
    _token, raw = api_token_create(user=member, name="bot")
    member.is_active = False
    member.save()
    assert api_token_user(raw) is None


@pytest.mark.parametrize("name", ["", "   "])
def test_token_needs_a_name(member, name):
    with pytest.raises(ValidationError):
        api_token_create(user=member, name=name)


def test_token_names_are_unique_per_member(member):
    api_token_create(user=member, name="bot")
    with pytest.raises(ValidationError):
        api_token_create(user=member, name="bot")
    api_token_create(user=UserFactory(), name="bot")  # another member may use the name


def test_tokens_per_member_are_bounded(member, settings):
    settings.API_TOKENS_PER_USER = 2
    api_token_create(user=member, name="a")
    api_token_create(user=member, name="b")
    with pytest.raises(ValidationError):
        api_token_create(user=member, name="c")


def test_basic_auth_takes_the_password_or_a_token(member):
    member.set_password("s3cret-pass")
    member.save()
    _token, raw = api_token_create(user=member, name="bot")
    factory = RequestFactory()
    assert (
        basic_auth_user(factory.get("/", HTTP_AUTHORIZATION=_basic(member.username, "s3cret-pass")))
        == member
    )
    assert basic_auth_user(factory.get("/", HTTP_AUTHORIZATION=_basic("anything", raw))) == member
    assert (
        basic_auth_user(factory.get("/", HTTP_AUTHORIZATION=_basic(member.username, "wrong")))
        is None
    )
    assert basic_auth_user(factory.get("/", HTTP_AUTHORIZATION="Basic !!!not-base64")) is None
    assert basic_auth_user(factory.get("/")) is None


def test_bearer_token(member):
    _token, raw = api_token_create(user=member, name="bot")
    factory = RequestFactory()
    assert bearer_token_user(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {raw}")) == member
    assert bearer_token_user(factory.get("/", HTTP_AUTHORIZATION="Bearer va_nope")) is None
