"""Moderators manage the filter terms and review withheld pictures in the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from moderation.models import FilterTerm
from moderation.services import text_screen
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_a_term_added_in_the_admin_blocks_at_once(admin_client: Client, filter_terms) -> None:
    response = admin_client.post(
        "/admin/moderation/filterterm/add/",
        {
            "term": "chainsaw massacre",
            "category": "violence",
            "language": "en",
            "action": "block",
            "is_active": "on",
            "note": "",
        },
    )
    assert response.status_code == 302
    assert text_screen("a chainsaw massacre poster").blocked == "violence"


def test_the_deactivate_action_stops_terms_matching(admin_client: Client, filter_terms) -> None:
    term = FilterTerm.objects.get(term="decapitated")
    response = admin_client.post(
        "/admin/moderation/filterterm/",
        {"action": "deactivate", "_selected_action": [term.pk]},
    )
    assert response.status_code == 302
    assert text_screen("a decapitated statue").allowed


def test_the_term_list_filters_by_category_and_language(admin_client: Client, filter_terms):
    response = admin_client.get("/admin/moderation/filterterm/?category=sexual&language=en")
    assert response.status_code == 200
    assert "porn*" in response.content.decode()
    assert "decapitated" not in response.content.decode()
