"""social.services: following and unfollowing."""

from __future__ import annotations

import pytest

from social.models import Follow
from social.services import CannotFollowSelf, follow_create, follow_delete
from tests.accounts.factories import UserFactory


def test_follow_creates_the_relation(member):
    other = UserFactory()

    follow_create(follower=member, followee=other)

    assert Follow.objects.filter(follower=member, followee=other).exists()


def test_following_twice_keeps_one_relation(member):
    other = UserFactory()

    first = follow_create(follower=member, followee=other)
    second = follow_create(follower=member, followee=other)

    assert first == second
    assert Follow.objects.count() == 1


def test_following_is_one_way(member):
    other = UserFactory()

    follow_create(follower=member, followee=other)

    assert not Follow.objects.filter(follower=other, followee=member).exists()


def test_cannot_follow_self(member):
    with pytest.raises(CannotFollowSelf):
        follow_create(follower=member, followee=member)

    assert not Follow.objects.exists()


def test_unfollow_removes_the_relation(member):
    other = UserFactory()
    follow_create(follower=member, followee=other)

    follow_delete(follower=member, followee=other)

    assert not Follow.objects.exists()


def test_unfollow_without_a_follow_does_nothing(member):
    follow_delete(follower=member, followee=UserFactory())

    assert not Follow.objects.exists()
