"""Cross-app events, delivered once the transaction that raised them commits.

A service in a lower app announces what happened (``event_emit("image.published", image_id=1)``)
and higher apps react by subscribing from their ``ready()`` (social's notifications, the next
issues' moderation queue), so the lower app never imports them: imports keep running one way.
Nothing is delivered for a transaction that rolls back. A failing subscriber is logged and never
fails the service that raised the event, nor the other subscribers."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]
_subscribers: defaultdict[str, list[Subscriber]] = defaultdict(list)


def event_subscribe(name: str, subscriber: Subscriber) -> None:
    """Call ``subscriber`` for every committed event ``name`` (once, however often registered)."""
    if subscriber not in _subscribers[name]:
        _subscribers[name].append(subscriber)


def event_unsubscribe(name: str, subscriber: Subscriber) -> None:
    if subscriber in _subscribers[name]:
        _subscribers[name].remove(subscriber)


def event_emit(name: str, **payload: Any) -> None:
    """Deliver the event to its subscribers when the current transaction commits (at once when
    there is none). Payloads carry ids, not model instances: subscribers reload what they need."""
    event = Event(name, payload)
    transaction.on_commit(lambda: _deliver(event))


def _deliver(event: Event) -> None:
    for subscriber in list(_subscribers[event.name]):
        try:
            subscriber(event)
        except Exception:
            logger.exception(
                "event subscriber failed",
                extra={"event": event.name, "subscriber": repr(subscriber)},
            )
