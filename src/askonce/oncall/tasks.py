"""Thin entry points: event subscribers and the worker's periodic jobs."""

import logging

from askonce.core.models import Event
from askonce.oncall.escalation import run_due_timers
from askonce.oncall.handoffs import do_notify_shift_starts
from askonce.oncall.paging import do_page_for_event, do_page_for_unhandled_events
from askonce.oncall.ticket_duty import (
    do_notify_ticket_duty,
    do_notify_ticket_duty_for_unhandled,
)

logger = logging.getLogger(__name__)


def page_for_event(event: Event) -> None:
    page = do_page_for_event(event)
    if page is not None:
        logger.info("page #%d raised for %s on ticket #%d", page.pk, event.verb, event.subject_id)


def run_due_escalations() -> int:
    return run_due_timers()


def page_for_unhandled_events() -> int:
    raised = do_page_for_unhandled_events()
    if raised:
        logger.warning("raised %d page(s) for events whose subscriber did not run", raised)
    return raised


def notify_shift_starts() -> int:
    return do_notify_shift_starts()


def notify_ticket_duty(event: Event) -> None:
    """A new ticket: whoever is on ticket duty hears of it (a cached look-up when nobody is)."""
    do_notify_ticket_duty(ticket_id=event.subject_id, filed_at=event.occurred_at)


def notify_ticket_duty_for_unhandled() -> int:
    sent = do_notify_ticket_duty_for_unhandled()
    if sent:
        logger.warning("sent %d ticket-duty notice(s) whose subscriber did not run", sent)
    return sent
