"""The on-commit event hook that lets lower apps announce what happened to higher ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction

from visionary.events import Event, event_emit, event_subscribe, event_unsubscribe

received: list[Event] = []


def _record(event: Event) -> None:
    received.append(event)


def _broken(event: Event) -> None:
    raise RuntimeError("subscriber bug")


@pytest.fixture(autouse=True)
def _subscribed() -> Iterator[None]:
    received.clear()
    event_subscribe("test.happened", _broken)
    event_subscribe("test.happened", _record)
    yield
    event_unsubscribe("test.happened", _broken)
    event_unsubscribe("test.happened", _record)


@pytest.mark.django_db(transaction=True)
def test_an_event_reaches_subscribers_only_after_commit() -> None:
    with transaction.atomic():
        event_emit("test.happened", image_id=7)
        assert received == []
    assert received == [Event("test.happened", {"image_id": 7})]


@pytest.mark.django_db(transaction=True)
def test_an_event_of_a_rolled_back_transaction_is_never_delivered() -> None:
    with pytest.raises(ValueError), transaction.atomic():
        event_emit("test.happened", image_id=7)
        raise ValueError("the service failed")
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_is_logged_and_the_others_still_hear(caplog) -> None:
    event_emit("test.happened", image_id=1)  # no transaction: delivered at once
    assert [e.payload for e in received] == [{"image_id": 1}]
    assert "event subscriber failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_subscribing_twice_delivers_once() -> None:
    event_subscribe("test.happened", _record)
    event_emit("test.happened")
    assert len(received) == 1


@pytest.mark.django_db(transaction=True)
def test_events_of_other_names_are_not_delivered() -> None:
    event_emit("test.other")
    assert received == []
