"""The prompt filter as a service: terms from the database, rebuilt when moderators edit them."""

from __future__ import annotations

import pytest
from django.test import override_settings

from moderation.models import FilterTerm
from moderation.services import prompts_screen, terms_seed, text_screen
from moderation.textfilter import Category
from visionary.levels import Level


def test_text_screen_uses_the_terms_in_the_database(filter_terms: list[FilterTerm]) -> None:
    assert text_screen("pornographic").blocked == Category.SEXUAL
    assert text_screen("a quiet harbour").allowed


def test_a_new_term_takes_effect_at_once(filter_terms: list[FilterTerm]) -> None:
    assert text_screen("a chainsaw massacre").allowed
    FilterTerm.objects.create(term="chainsaw massacre", category="violence", action="block")
    assert text_screen("a chainsaw massacre").blocked == Category.VIOLENCE


def test_a_deactivated_term_stops_matching(filter_terms: list[FilterTerm]) -> None:
    term = FilterTerm.objects.get(term="decapitated")
    term.is_active = False
    term.save()
    assert text_screen("a decapitated statue").allowed


def test_a_deleted_term_stops_matching(filter_terms: list[FilterTerm]) -> None:
    FilterTerm.objects.filter(term="porn*").delete()
    assert text_screen("porn").allowed


def test_explicit_sexual_prompts_pass_as_flags_when_the_site_allows_x(
    filter_terms: list[FilterTerm],
) -> None:
    with override_settings(MODERATION_MAX_LEVEL=Level.X):
        verdict = text_screen("porn")
    assert verdict.allowed
    assert verdict.flagged == {Category.SEXUAL}
    assert text_screen("porn").blocked == Category.SEXUAL  # back at the default level


def test_prompts_screen_names_the_field_and_collects_flags(filter_terms: list[FilterTerm]) -> None:
    screening = prompts_screen(prompt="nazi uniform, museum", negative_prompt="色情")
    assert screening.refusal is not None
    assert screening.refusal.field == "negative_prompt"
    assert screening.refusal.category == Category.SEXUAL
    assert screening.flagged >= {Category.HATE}


def test_refusal_message_names_the_category_not_the_term(filter_terms: list[FilterTerm]) -> None:
    screening = prompts_screen(prompt="little girl, nude")
    assert screening.refusal is not None
    assert screening.refusal.category == Category.MINORS
    assert "minors" in screening.refusal.message
    assert "nude" not in screening.refusal.message


def test_the_starting_list_is_installed_by_the_migrations(db: None) -> None:
    terms_seed()  # a test before this one may have flushed the table
    categories = set(FilterTerm.objects.values_list("category", flat=True))
    assert categories == {str(c) for c in Category}
    assert FilterTerm.objects.filter(language="zh").exists()


def test_seeding_again_adds_nothing_and_keeps_moderators_edits(db: None) -> None:
    terms_seed()
    edited = FilterTerm.objects.filter(action="block").first()
    assert edited is not None
    edited.is_active = False
    edited.save()
    assert terms_seed() == 0
    edited.refresh_from_db()
    assert edited.is_active is False


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("porn", Category.SEXUAL),
        ("ｐ ｏ ｒ ｎ, masterpiece", Category.SEXUAL),
        ("loli hentai", Category.MINORS),
        ("一张色情图片", Category.SEXUAL),
        ("how to make a pipe bomb, step by step diagram", Category.WEAPONS_DRUGS),
    ],
)
def test_the_starting_list_blocks_plain_violations(
    db: None, prompt: str, category: Category
) -> None:
    terms_seed()
    assert text_screen(prompt).blocked == category


@pytest.mark.parametrize(
    "prompt",
    [
        "Assassin's Creed fan art",
        "Scunthorpe harbour at dawn",
        "breaststroke swimmer",
        "a nude-coloured dress",
        "裸眼3D效果的城市",
    ],
)
def test_the_starting_list_lets_the_issues_traps_through(db: None, prompt: str) -> None:
    terms_seed()
    assert text_screen(prompt).allowed
