"""gallery.selectors: who sees which pictures."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from gallery.selectors import images_of_owner_for_viewer, images_published, images_visible_to
from tests.accounts.factories import UserFactory
from tests.gallery.factories import ImageFactory


def test_published_lists_only_published_images(db):
    public = ImageFactory(published=True)
    ImageFactory()

    assert list(images_published()) == [public]


def test_published_filters_by_prompt_ignoring_case(db):
    owl = ImageFactory(published=True, prompt="A snowy Owl at dusk")
    ImageFactory(published=True, prompt="a red fox")

    assert list(images_published(query="owl")) == [owl]


def test_published_lists_newest_first(db):
    older = ImageFactory(published=True)
    newer = ImageFactory(published=True)

    assert list(images_published()) == [newer, older]


def test_anonymous_viewer_sees_only_published_images(db):
    public = ImageFactory(published=True)
    ImageFactory()

    assert list(images_visible_to(viewer=AnonymousUser())) == [public]


def test_member_sees_published_images_and_own_private_ones(member):
    public = ImageFactory(published=True)
    own_private = ImageFactory(owner=member)
    ImageFactory()

    assert set(images_visible_to(viewer=member)) == {public, own_private}


def test_owner_listing_hides_private_images_from_others(member):
    public = ImageFactory(owner=member, published=True)
    ImageFactory(owner=member)

    assert list(images_of_owner_for_viewer(owner=member, viewer=UserFactory())) == [public]


def test_owner_listing_shows_private_images_to_the_owner(member):
    public = ImageFactory(owner=member, published=True)
    private = ImageFactory(owner=member)

    assert set(images_of_owner_for_viewer(owner=member, viewer=member)) == {public, private}
