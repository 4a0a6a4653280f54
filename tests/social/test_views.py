"""The feed and the follow button."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from social.models import Follow
from social.services import follow_create
from tests.accounts.factories import UserFactory
from tests.gallery.factories import ImageFactory

FEED_URL = reverse("social:feed")


def _followed_members(member, count: int):
    followees = UserFactory.create_batch(count)
    for followee in followees:
        follow_create(follower=member, followee=followee)
    return followees


def _feed_query_count(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(FEED_URL)
    assert response.status_code == 200
    return len(queries)


def test_follow_button_follows_a_member(member_client, member):
    other = UserFactory()

    response = member_client.post(reverse("social:follow", args=[other.username]))

    assert response.status_code == 302
    assert Follow.objects.filter(follower=member, followee=other).exists()


def test_follow_button_again_unfollows(member_client, member):
    other = UserFactory()
    follow_create(follower=member, followee=other)

    member_client.post(reverse("social:follow", args=[other.username]))

    assert not Follow.objects.exists()


def test_following_self_is_refused_with_a_message(member_client, member):
    response = member_client.post(reverse("social:follow", args=[member.username]))

    assert not Follow.objects.exists()
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        "You cannot follow yourself."
    ]


def test_follow_requires_login(client, db):
    other = UserFactory()

    response = client.post(reverse("social:follow", args=[other.username]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not Follow.objects.exists()


def test_feed_requires_login(client, db):
    response = client.get(FEED_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_feed_shows_only_published_images_of_followed_members(member_client, member):
    (followee,) = _followed_members(member, 1)
    ImageFactory(owner=followee, published=True, prompt="a followed comet")
    ImageFactory(owner=followee, prompt="a followed private sketch")
    ImageFactory(published=True, prompt="a stranger's sunset")
    ImageFactory(owner=member, published=True, prompt="my own moon")

    response = member_client.get(FEED_URL)

    assert [image.prompt for image in response.context["page"].object_list] == ["a followed comet"]


def test_feed_without_follows_shows_the_empty_state(member_client):
    ImageFactory(published=True)

    response = member_client.get(FEED_URL)

    assert "Your feed is empty" in response.content.decode()


def test_feed_query_count_does_not_grow_with_images(member_client, member):
    followees = _followed_members(member, 20)
    for followee in followees[:10]:
        ImageFactory(owner=followee, published=True)
    with_ten = _feed_query_count(member_client)

    for followee in followees[10:]:
        ImageFactory(owner=followee, published=True)

    assert _feed_query_count(member_client) == with_ten
