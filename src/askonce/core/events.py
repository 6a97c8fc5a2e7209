"""Record events and deliver them to subscribers after the transaction commits.

A lower domain records `ticket.assigned`; a higher one subscribes in its `apps.py` and reacts,
so no import runs upward. Subscribers run after commit, so they never see a rolled-back change.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from askonce.core.batch import insert_row_later
from askonce.core.models import Event

logger = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(verb: str, handler: Subscriber) -> None:
    """Call `handler(event)` after commit for every event with this verb ('*' for all)."""
    if handler not in _subscribers[verb]:
        _subscribers[verb].append(handler)


def record_event(
    *,
    verb: str,
    subject_type: str,
    subject_id: int,
    actor: Any = None,
    organization_id: int | None = None,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> Event:
    # Every action records one: a prepared INSERT (core/rows.py) instead of building it each time;
    # in an all-or-nothing batch, one INSERT for all the batch's events (core/batch.py).
    event = insert_row_later(
        Event(
            occurred_at=timezone.now(),
            verb=verb,
            actor=actor if getattr(actor, "pk", None) else None,
            subject_type=subject_type,
            subject_id=subject_id,
            organization_id=organization_id,
            from_state=from_state,
            to_state=to_state,
            note=note,
            data=data or {},
        )
    )
    if _subscribers.get(verb) or _subscribers.get("*"):
        transaction.on_commit(lambda: _publish(event))
    return event


def _publish(event: Event) -> None:
    for handler in [*_subscribers.get(event.verb, []), *_subscribers.get("*", [])]:
        try:
            handler(event)
        except Exception:
            # One broken subscriber must not stop the others; the event itself is committed.
            logger.exception("subscriber %r failed on %s", handler, event)
