"""Thin entry points the worker calls for ticket housekeeping."""

import logging

from askonce.tickets.actions import do_close_solved_tickets, do_record_missed_responses

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
