"""Writes to the question index: record a question (embedding it, linking the question it
repeats) and record the answer support gave once the ticket is solved."""

import logging
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from askonce.core.events import record_event
from askonce.core.models import Event
from askonce.questions.gaps import do_close_gap_answered_by, do_consider_gap
from askonce.questions.lexical import matching_groups_for
from askonce.questions.models import Question
from askonce.questions.overlaps import do_check_question_overlaps
from askonce.search.embeddings import MODEL_NAME, encoder
from askonce.tickets.queries import public_answer, question_source, ticket_ids_after

logger = logging.getLogger(__name__)

# The question as it is embedded and compared: the subject and the start of the first message.
QUESTION_CHARS = 1_000


def question_text(subject: str, body: str) -> str:
    text = f"{subject.strip()}\n{body.strip()}".strip()
    return text[:QUESTION_CHARS]


def embed(text: str) -> np.ndarray | None:
    """The text's unit vector, or None in full-text-only mode."""
    model = encoder()
    if model is None:
        return None
    return model.encode([text])[0]


def do_record_question(
    *,
    source_type: str,
    source_id: int,
    text: str,
    channel: str = "",
    organization_id: int | None = None,
    asked_at: datetime | None = None,
) -> Question:
    """Store a question once per source; link it to the earlier question it repeats."""
    existing = Question.objects.filter(source_type=source_type, source_id=source_id).first()
    if existing is not None:
        return existing
    vector = embed(text)
    repeat_of, similarity = None, None
    if vector is not None:
        groups = matching_groups_for(vector, text)
        best = groups[0] if groups else None
        if best is not None and best.confidence >= settings.QUESTION_REPEAT_THRESHOLD:
            # Link to the first asking (the group), so every repeat hangs off one root.
            root = best.group if isinstance(best.group, int) else best.best_key
            repeat_of = Question.objects.filter(pk=root).first()
            similarity = best.confidence
    try:
        with transaction.atomic():
            question = Question.objects.create(
                source_type=source_type,
                source_id=source_id,
                channel=channel,
                organization_id=organization_id,
                text=text,
                asked_at=asked_at or timezone.now(),
                repeat_of=repeat_of,
                similarity=similarity,
                embedding=vector.astype(np.float32).tobytes() if vector is not None else None,
                embedding_model=MODEL_NAME if vector is not None else "",
            )
            if repeat_of is not None:
                record_event(
                    verb="question.repeated",
                    subject_type="question",
                    subject_id=question.pk,
                    organization_id=organization_id,
                    data={
                        "repeat_of": repeat_of.pk,
                        "similarity": round(float(similarity or 0), 4),
                        "source": f"{source_type}:{source_id}",
                        "earlier_source": f"{repeat_of.source_type}:{repeat_of.source_id}",
                    },
                )
    except IntegrityError:
        # Recorded at the same moment by the subscriber and the sweep: one row wins.
        return Question.objects.get(source_type=source_type, source_id=source_id)
    if repeat_of is not None:
        # Asked twice: open the documentation gap (or join it, or take the group's article).
        do_consider_gap(question)
    return question


def do_record_ticket_question(ticket_id: int) -> Question | None:
    source = question_source(ticket_id)
    if source is None:
        return None
    return do_record_question(
        source_type="ticket",
        source_id=source.ticket_id,
        text=question_text(source.subject, source.body),
        channel=source.channel,
        organization_id=source.organization_id,
        asked_at=source.asked_at,
    )


def do_record_ticket_answer(ticket_id: int) -> Question | None:
    """The ticket was solved: keep the answer support gave, and the article it linked."""
    question = Question.objects.filter(source_type="ticket", source_id=ticket_id).first()
    if question is None:
        question = do_record_ticket_question(ticket_id)
        if question is None:
            return None
    answer, article = public_answer(ticket_id)
    question.answer = answer
    question.article_slug = article
    question.answered_at = timezone.now()
    question.save(update_fields=["answer", "article_slug", "answered_at"])
    if article:
        # The article answers the question: its open gap closes; and another asking of it may
        # have been answered with another article (an overlap).
        do_close_gap_answered_by(question)
        do_check_question_overlaps(roots={question.repeat_of_id or question.pk})
    return question


def do_index_new_tickets(*, limit: int = 200) -> int:
    """Index the tickets filed since the newest one indexed (the worker runs this every second
    or two). Embedding happens here, in the worker, never while a customer waits for a ticket
    number, and without one more write per ticket on the request path."""
    newest = (
        Question.objects.filter(source_type="ticket")
        .order_by("-source_id")
        .values_list("source_id", flat=True)
        .first()
        or 0
    )
    recorded = 0
    for ticket_id in ticket_ids_after(newest, limit=limit):
        if do_record_ticket_question(ticket_id) is not None:
            recorded += 1
    return recorded


def do_record_unindexed_tickets(*, since: datetime | None = None, limit: int = 500) -> int:
    """Index tickets the forward pass skipped (on PostgreSQL a lower id can commit after a
    higher one was indexed), from `since` on (default: the last two days). Idempotent; the
    worker runs it every minute."""
    since = since or timezone.now() - timedelta(days=2)
    known = Question.objects.filter(source_type="ticket", asked_at__gte=since).values("source_id")
    missing = (
        Event.objects.filter(verb="ticket.created", subject_type="ticket", occurred_at__gte=since)
        .exclude(subject_id__in=known)
        .order_by("id")
        .values_list("subject_id", flat=True)[:limit]
    )
    recorded = 0
    for ticket_id in list(missing):
        if do_record_ticket_question(ticket_id) is not None:
            recorded += 1
    return recorded
