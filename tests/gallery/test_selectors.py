"""gallery.selectors: who sees which pictures."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from gallery.models import ImageLora
from gallery.selectors import (
    images_of_model,
    images_of_owner_for_viewer,
    images_published,
    images_visible_to,
    loras_of_image,
)
from tests.accounts.factories import UserFactory
from tests.gallery.factories import ImageFactory
from tests.modelhub.factories import AIModelFactory, ModelVersionFactory


def test_published_lists_only_published_images(db):
    public = ImageFactory(published=True)
    ImageFactory()

    assert list(images_published()) == [public]


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


def test_a_models_pictures_are_those_made_with_it_as_checkpoint_or_as_lora(db):
    checkpoint = ModelVersionFactory()
    lora = ModelVersionFactory(model=AIModelFactory(type="lora"))
    plain = ImageFactory(published=True, model_version=checkpoint)
    styled = ImageFactory(published=True, model_version=checkpoint)
    ImageLora.objects.create(image=styled, version=lora, weight=0.7)
    private = ImageFactory(model_version=checkpoint)
    ImageLora.objects.create(image=private, version=lora, weight=1)
    ImageFactory(published=True)

    assert list(images_of_model(model_id=checkpoint.model_id)) == [styled, plain]
    assert list(images_of_model(model_id=lora.model_id)) == [styled]


def test_a_pictures_loras_come_with_their_model_and_weight(db, django_assert_num_queries):
    image = ImageFactory()
    for weight in (0.5, -1.0):
        ImageLora.objects.create(
            image=image, version=ModelVersionFactory(model=AIModelFactory()), weight=weight
        )
    with django_assert_num_queries(1):
        uses = [(use.version.model.name, use.weight) for use in loras_of_image(image=image)]
    assert [weight for _name, weight in uses] == [0.5, -1.0]
