"""Every middleware runs natively in async mode, so an async view (a waiting /sdapi call) holds
no thread: one sync-only middleware would put the whole request on a thread for its lifetime.
The member's language middleware behaves the same in both modes."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import AsyncClient
from django.urls import reverse
from django.utils.module_loading import import_string

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_middleware_is_async_capable():
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


@pytest.mark.asyncio
async def test_a_members_saved_language_applies_on_the_async_path(member):
    member.language = "zh-hans"
    await member.asave(update_fields=["language"])
    client = AsyncClient()
    await client.aforce_login(member)

    response = await client.get(reverse("home"))

    assert '<html lang="zh-hans"' in response.content.decode()
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


@pytest.mark.asyncio
async def test_a_visitor_gets_no_language_cookie_on_the_async_path(db):
    response = await AsyncClient().get(reverse("home"))
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
