"""The text filter on a small term list of its own: what the normaliser undoes, how terms match,
combinations, exceptions and its linear running time."""

from __future__ import annotations

import time

import pytest

from moderation.textfilter import Action, Category, Term, TermFilter, readings

TERMS = [
    Term("porn*", Category.SEXUAL, Action.BLOCK),
    Term("sex", Category.SEXUAL, Action.BLOCK),
    Term("blowjob", Category.SEXUAL, Action.BLOCK),
    Term("nude", Category.SEXUAL, Action.COMBINE),
    Term("nude colour", Category.SEXUAL, Action.ALLOW),
    Term("little girl", Category.MINORS, Action.COMBINE),
    Term("loli", Category.MINORS, Action.BLOCK),
    Term("decapitated", Category.VIOLENCE, Action.BLOCK),
    Term("nazi", Category.HATE, Action.FLAG),
    Term("taylor swift", Category.REAL_PERSONS, Action.COMBINE),
    Term("色情", Category.SEXUAL, Action.BLOCK),
    Term("幼女", Category.MINORS, Action.COMBINE),
    Term("裸体", Category.SEXUAL, Action.COMBINE),
    Term("血腥", Category.VIOLENCE, Action.BLOCK),
    Term("血腥玛丽", Category.VIOLENCE, Action.ALLOW),
]


@pytest.fixture(scope="module")
def term_filter() -> TermFilter:
    return TermFilter(TERMS)


@pytest.mark.parametrize(
    "prompt",
    [
        "PORN, masterpiece",
        "pornographic poster",
        "pórn",
        "ｐｏｒｎ",
        "p o r n",
        "p.o.r.n",
        "po-rn",
        "p\u200bo\u200br\u200bn",
        "p0rn",
        "$ex on a beach",
        "S3X",
        "blow job",
        "b l o w j o b",
    ],
)
def test_blocks_a_sexual_term_through_disguises(term_filter: TermFilter, prompt: str) -> None:
    assert term_filter.screen(prompt).blocked == Category.SEXUAL


@pytest.mark.parametrize(
    "prompt",
    [
        "Sussex countryside at dawn",
        "a sextant on an old map",
        "Middlesex county hall",
        "a nude colour dress",
        "a nude woman, oil painting",  # a combine term alone passes
        "a little girl flying a kite",
        "血腥玛丽鸡尾酒",
        "",
    ],
)
def test_lets_benign_text_through(term_filter: TermFilter, prompt: str) -> None:
    assert term_filter.screen(prompt).allowed


def test_a_word_about_minors_with_a_sexual_word_blocks_as_minors(term_filter: TermFilter) -> None:
    assert term_filter.screen("little girl, nude").blocked == Category.MINORS
    assert term_filter.screen("l1ttle g1rl n u d e").blocked == Category.MINORS


def test_a_real_person_with_a_sexual_word_blocks_as_real_persons(term_filter: TermFilter) -> None:
    assert term_filter.screen("Taylor Swift nude").blocked == Category.REAL_PERSONS
    assert term_filter.screen("Taylor Swift singing on stage").allowed


def test_the_gravest_category_is_reported(term_filter: TermFilter) -> None:
    assert term_filter.screen("loli porn, decapitated").blocked == Category.MINORS


def test_chinese_terms_match_without_word_boundaries(term_filter: TermFilter) -> None:
    assert term_filter.screen("一张色情图片").blocked == Category.SEXUAL
    assert term_filter.screen("色 情").blocked == Category.SEXUAL
    assert term_filter.screen("幼女裸体").blocked == Category.MINORS
    assert term_filter.screen("血腥的战场").blocked == Category.VIOLENCE


def test_an_allow_term_masks_only_the_matches_inside_it(term_filter: TermFilter) -> None:
    assert term_filter.screen("血腥玛丽 and a 血腥 scene").blocked == Category.VIOLENCE


def test_flag_terms_pass_but_are_recorded(term_filter: TermFilter) -> None:
    verdict = term_filter.screen("1940s nazi uniform in a museum")
    assert verdict.allowed
    assert verdict.flagged == {Category.HATE}


def test_explicit_sexual_text_is_flagged_not_blocked_when_the_site_allows_x() -> None:
    permissive = TermFilter(TERMS, sexual_blocks=False)
    assert permissive.screen("porn").flagged == {Category.SEXUAL}
    assert permissive.screen("porn").allowed
    assert permissive.screen("loli porn").blocked == Category.MINORS


def test_readings_join_spread_letters_and_fold_lookalikes() -> None:
    read = readings("Ｈｅｌｌｏ  W.O.R.L.D s-3-x")
    assert " heiio " in read.words  # l and 1 share a class
    assert " worid " in read.words
    assert "sex" in read.squeezed


@pytest.mark.parametrize(
    "adversarial",
    [
        "a" * 20_000,
        "s e x " * 3_400,
        "pornpornporn" * 1_700,
        "(((((((((((" * 1_900,
        "p\u200b" * 10_000,
        "色情" * 10_000,
        "ａ " * 10_000,
        "血腥玛丽" * 5_000,
        "nude colour " * 1_700,
    ],
)
def test_a_20000_character_adversarial_prompt_is_screened_quickly(
    term_filter: TermFilter, adversarial: str
) -> None:
    text = adversarial[:20_000]
    started = time.perf_counter()
    term_filter.screen(text)
    # Generous: linear work is a few milliseconds here; backtracking would take seconds.
    assert time.perf_counter() - started < 0.5
