"""gallery.filters.ImageFilter: the gallery's ``?q=`` search, as the list page uses it."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.urls import reverse

from gallery.filters import ImageFilter
from gallery.selectors import images_published
from tests.gallery.factories import ImageFactory
from visionary.filters import SEARCH_MAX_LENGTH

pytestmark = pytest.mark.django_db


def _filtered(query: str) -> list:
    return list(ImageFilter(QueryDict(query), queryset=images_published()).qs)


def test_q_keeps_pictures_whose_prompt_contains_it_in_any_case():
    owl = ImageFactory(published=True, prompt="A snowy Owl at dusk")
    ImageFactory(published=True, prompt="a red fox")

    assert _filtered("q=owl") == [owl]


def test_q_is_stripped_before_it_is_matched():
    owl = ImageFactory(published=True, prompt="an owl")
    ImageFactory(published=True, prompt="a fox")

    assert _filtered("q=%20%20owl%20") == [owl]


def test_a_blank_q_keeps_every_published_picture():
    pictures = [ImageFactory(published=True), ImageFactory(published=True)]

    assert _filtered("q=%20") == pictures[::-1]


def test_a_q_longer_than_the_limit_is_cut_to_it_not_refused():
    text = "o" * SEARCH_MAX_LENGTH
    ImageFactory(published=True, prompt=text)
    images = ImageFilter(QueryDict(f"q={text}xyz"), queryset=images_published())

    assert images.is_valid()
    assert images.search_text == text
    assert images.qs.count() == 1


def test_the_list_page_says_what_was_searched_for(client):
    ImageFactory(published=True, prompt="an owl")

    response = client.get(reverse("gallery:list"), {"q": "  owl "})

    assert response.context["query"] == "owl"
    assert "contains “owl”" in response.content.decode()


def test_the_list_page_ignores_a_q_that_is_not_valid(client):
    picture = ImageFactory(published=True)

    response = client.get(reverse("gallery:list"), {"q": "owl\x00"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [picture]


def test_the_list_pages_links_keep_the_search(client):
    ImageFactory.create_batch(25, published=True, prompt="an owl")

    html = client.get(reverse("gallery:list"), {"q": "owl"}).content.decode()

    assert 'href="?q=owl&amp;page=2"' in html
