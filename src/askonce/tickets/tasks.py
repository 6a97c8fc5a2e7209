"""Thin entry points the worker calls for ticket housekeeping."""

import logging

from askonce.core.models import Event
from askonce.tickets.actions import (
    do_close_solved_tickets,
    do_link_documentation,
    do_record_missed_responses,
)

logger = logging.getLogger(__name__)


def record_missed_responses() -> int:
    recorded = do_record_missed_responses()
    if recorded:
        logger.info("recorded %d missed team response target(s)", recorded)
    return recorded


def close_solved_tickets() -> int:
    closed = do_close_solved_tickets()
    if closed:
        logger.info("closed %d solved ticket(s)", closed)
    return closed


def link_documentation_for_event(event: Event) -> None:
    data = event.data or {}
    if data.get("ticket_id") and data.get("article"):
        do_link_documentation(
            ticket_id=int(data["ticket_id"]), article=str(data["article"]), actor=event.actor
        )
