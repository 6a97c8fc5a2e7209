"""Thin entry points for the worker and subscribers: embedding runs in the worker, so filing a
ticket never waits for the model."""

import logging

from django.tasks import task

from askonce.accounts.models import User
from askonce.core.models import Event
from askonce.questions import actions, consolidation, gaps, overlaps, queries

logger = logging.getLogger(__name__)


@task()
def record_ticket_answer(ticket_id: int) -> str:
    question = actions.do_record_ticket_answer(ticket_id)
    return f"answer of question {question.pk}" if question else "no such ticket"


def index_new_tickets() -> int:
    return actions.do_index_new_tickets()


def queue_ticket_answer(event: Event) -> None:
    record_ticket_answer.enqueue(event.subject_id)


def record_unindexed_tickets() -> int:
    recorded = actions.do_record_unindexed_tickets()
    if recorded:
        logger.warning("indexed %d ticket question(s) whose event was not handled", recorded)
    return recorded


def close_gaps_for_article(event: Event) -> None:
    closed = gaps.do_close_gaps_for_article(event)
    if closed:
        logger.info("article #%d closed %d documentation gap(s)", event.subject_id, closed)


def answering_article_slugs(user: User | None, text: str) -> list[str]:
    vector = actions.embed(text) if user is not None else None
    if user is None or vector is None:
        return []
    article = queries.answering_article(user, vector)
    return [str(article["slug"])] if article is not None else []


@task()
def check_article_overlaps(article_id: int) -> str:
    found = overlaps.do_check_article_overlaps(article_id)
    return f"article {article_id}: {len(found)} overlap(s)"


def queue_article_overlap_check(event: Event) -> None:
    """`article.published` / `article.updated`: embedding runs in the worker, not the editor's
    request."""
    check_article_overlaps.enqueue(event.subject_id)


def check_question_overlaps() -> int:
    return len(overlaps.do_check_question_overlaps())


def regroup_open_questions() -> int:
    """Hourly: the open questions grouped anew, all together (consolidation.py)."""
    return consolidation.do_regroup_open_questions().moved
