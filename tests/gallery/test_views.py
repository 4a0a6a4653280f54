"""Gallery pages: visibility of private pictures, publishing, search, list query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.models import ImageLora
from tests.accounts.factories import UserFactory
from tests.gallery.factories import ImageFactory
from tests.modelhub.factories import AIModelFactory, ModelVersionFactory


@pytest.fixture
def stranger_client(client, db):
    client.force_login(UserFactory())
    return client


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- Visibility -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gallery:detail", "gallery:file"])
def test_private_image_is_not_found_for_anonymous_visitors(client, db, name):
    image = ImageFactory()

    assert client.get(reverse(name, args=[image.pk])).status_code == 404


@pytest.mark.parametrize("name", ["gallery:detail", "gallery:file"])
def test_private_image_is_not_found_for_other_members(stranger_client, name):
    image = ImageFactory()

    assert stranger_client.get(reverse(name, args=[image.pk])).status_code == 404


@pytest.mark.parametrize("name", ["gallery:detail", "gallery:file"])
def test_private_image_is_visible_to_its_owner(member_client, member, name):
    image = ImageFactory(owner=member)

    assert member_client.get(reverse(name, args=[image.pk])).status_code == 200


@pytest.mark.parametrize("name", ["gallery:detail", "gallery:file"])
def test_published_image_is_visible_to_everyone(client, db, name):
    image = ImageFactory(published=True)

    assert client.get(reverse(name, args=[image.pk])).status_code == 200


def test_image_file_serves_the_png_bytes(member_client, member):
    image = ImageFactory(owner=member)

    response = member_client.get(reverse("gallery:file", args=[image.pk]))

    assert response["Content-Type"] == "image/png"
    with image.file.open("rb") as fh:
        assert b"".join(response.streaming_content) == fh.read()


def test_private_image_file_is_not_cached_publicly(member_client, member):
    image = ImageFactory(owner=member)

    response = member_client.get(reverse("gallery:file", args=[image.pk]))

    assert "private" in response["Cache-Control"]


def test_detail_page_shows_the_recipe(client, db):
    image = ImageFactory(published=True, prompt="a lighthouse in fog", seed=1234)

    page = _page(client, reverse("gallery:detail", args=[image.pk]))

    assert "a lighthouse in fog" in page
    assert "1234" in page
    assert "LoRAs" not in page  # none used


def test_detail_page_links_the_loras_the_picture_was_made_with(client, db):
    image = ImageFactory(published=True)
    lora = ModelVersionFactory(model=AIModelFactory(name="Ink Lines", type="lora"))
    ImageLora.objects.create(image=image, version=lora, weight=0.75)

    page = _page(client, reverse("gallery:detail", args=[image.pk]))

    assert f'<a href="{lora.model.get_absolute_url()}">Ink Lines</a>' in page
    assert "weight 0.75" in page


# --- Publishing -----------------------------------------------------------------------------


def test_owner_publishes_a_private_image(member_client, member):
    image = ImageFactory(owner=member)

    response = member_client.post(reverse("gallery:publish", args=[image.pk]))

    assert response.status_code == 302
    image.refresh_from_db()
    assert image.is_published
    assert image.published_at is not None


def test_owner_makes_a_published_image_private_again(member_client, member):
    image = ImageFactory(owner=member, published=True)

    member_client.post(reverse("gallery:publish", args=[image.pk]))

    image.refresh_from_db()
    assert not image.is_published
    assert image.published_at is None


def test_other_members_cannot_toggle_publishing(stranger_client):
    image = ImageFactory(published=True)

    response = stranger_client.post(reverse("gallery:publish", args=[image.pk]))

    assert response.status_code == 404
    image.refresh_from_db()
    assert image.is_published


def test_publish_toggle_refuses_get(member_client, member):
    image = ImageFactory(owner=member)

    assert member_client.get(reverse("gallery:publish", args=[image.pk])).status_code == 405


# --- Lists ----------------------------------------------------------------------------------


def test_home_shows_published_images_only(client, db):
    ImageFactory(published=True, prompt="a published comet")
    ImageFactory(prompt="a private sketch")

    page = _page(client, reverse("home"))

    assert "a published comet" in page
    assert "a private sketch" not in page


def test_gallery_lists_published_images_only(client, db):
    ImageFactory(published=True, prompt="a published comet")
    ImageFactory(prompt="a private sketch")

    page = _page(client, reverse("gallery:list"))

    assert "a published comet" in page
    assert "a private sketch" not in page


def test_gallery_search_filters_by_prompt(client, db):
    ImageFactory(published=True, prompt="an owl in the snow")
    ImageFactory(published=True, prompt="a fox in the forest")

    page = _page(client, reverse("gallery:list") + "?q=owl")

    assert "an owl in the snow" in page
    assert "a fox in the forest" not in page


def test_gallery_search_without_matches_says_so(client, db):
    ImageFactory(published=True, prompt="an owl in the snow")

    assert "Nothing matches your search" in _page(client, reverse("gallery:list") + "?q=whale")


def test_empty_gallery_shows_the_empty_state(client, db):
    assert "The gallery is empty" in _page(client, reverse("gallery:list"))


def test_gallery_list_takes_two_queries(client, db, django_assert_num_queries):
    ImageFactory.create_batch(10, published=True)  # each with its own owner

    # One count for the paginator, one for the page with owners and models joined.
    with django_assert_num_queries(2):
        assert client.get(reverse("gallery:list")).status_code == 200


@pytest.mark.parametrize("name", ["home", "gallery:list"])
def test_list_query_count_does_not_grow_with_images(client, db, name):
    ImageFactory.create_batch(10, published=True)
    with_ten = _query_count(client, reverse(name))

    ImageFactory.create_batch(10, published=True)

    assert _query_count(client, reverse(name)) == with_ten
