"""Thin entry points the worker and event subscribers call."""

import logging

from askonce.core.models import Event
from askonce.kb import actions

logger = logging.getLogger(__name__)


def open_task_for_event(event: Event) -> None:
    task = actions.do_open_task_for_event(event)
    logger.info("documentation task #%d for ticket #%s", task.pk, task.ticket_id)


def open_tasks_for_unhandled_events() -> int:
    opened = actions.do_open_tasks_for_unhandled_events()
    if opened:
        logger.warning("opened %d documentation task(s) whose event was not handled", opened)
    return opened


def decide_idle_attempts() -> int:
    return actions.do_decide_idle_attempts()
