"""Thin entry points: event subscribers and the worker's periodic paging jobs."""

import logging

from askonce.core.models import Event
from askonce.oncall.escalation import run_due_timers
from askonce.oncall.paging import do_page_for_event, do_page_for_unhandled_events

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
