"""Reads of the question index: earlier questions like this one, and self-service suggestions.

Customers only ever see their own organization's earlier questions; staff see all. Earlier
questions are found by meaning (embeddings), or by their words in full-text-only mode.
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connection

from askonce.accounts.models import User
from askonce.kb.queries import visible_articles
from askonce.questions.index import (
    matching_groups,
    nearest_questions,
    questions_with_words_of,
    vector_of,
)
from askonce.questions.models import Question
from askonce.questions.vectors import Neighbour


@dataclass(frozen=True)
class SimilarQuestion:
    question_id: int
    source_type: str
    source_id: int
    text: str
    asked_at: datetime
    similarity: float
    answer: str
    article: str


def _visible_to(user: User, question: Question) -> bool:
    if user.is_staff_member:
        return True
    return question.organization_id is not None and question.organization_id == user.organization_id


def _similar(
    user: User, neighbours: list[Neighbour], *, k: int, answered_only: bool
) -> list[SimilarQuestion]:
    by_id = Question.objects.defer("embedding").in_bulk([n.key for n in neighbours])
    found = []
    for neighbour in neighbours:
        question = by_id.get(neighbour.key)
        if question is None or not _visible_to(user, question):
            continue
        if answered_only and not (question.answer or question.article_slug):
            continue
        found.append(
            SimilarQuestion(
                question_id=question.pk,
                source_type=question.source_type,
                source_id=question.source_id,
                text=question.text,
                asked_at=question.asked_at,
                similarity=round(neighbour.score, 4),
                answer=question.answer,
                article=question.article_slug,
            )
        )
        if len(found) == k:
            break
    return found


def _candidates(k: int, exclude: set[int]) -> int:
    # Ask for more than k: some neighbours are other organizations' questions or unanswered.
    return k * 5 + len(exclude)


def question_for(source_type: str, source_id: int) -> Question | None:
    return (
        Question.objects.select_related("repeat_of")
        .filter(source_type=source_type, source_id=source_id)
        .first()
    )


def similar_to_ticket(user: User, ticket_id: int, *, k: int = 5) -> list[SimilarQuestion]:
    """Earlier questions most like this ticket's (answered or not), best first: by meaning, or
    by words when the question has no embedding (full-text-only mode)."""
    question = question_for("ticket", ticket_id)
    if question is None:
        return []
    exclude = {question.pk}
    vector = vector_of(question)
    if vector is not None:
        neighbours = nearest_questions(vector, k=_candidates(k, exclude), exclude=exclude)
    else:
        neighbours = questions_with_words_of(
            question.text, k=_candidates(k, exclude), exclude=exclude
        )
    return [
        similar
        for similar in _similar(user, neighbours, k=k, answered_only=False)
        if similar.asked_at <= question.asked_at
    ]


def similar_answered(user: User, vector: np.ndarray, *, k: int = 5) -> list[SimilarQuestion]:
    """Solved questions like this one (its embedding), with the answers support gave."""
    neighbours = nearest_questions(vector, k=_candidates(k, set()))
    return _similar(user, neighbours, k=k, answered_only=True)


def similar_answered_by_words(user: User, text: str, *, k: int = 5) -> list[SimilarQuestion]:
    """Solved questions that share the most (and the rarest) words with `text`, with the
    answers support gave: what /suggest shows when embeddings are off."""
    neighbours = questions_with_words_of(text, k=_candidates(k, set()))
    return _similar(user, neighbours, k=k, answered_only=True)


# How many of a group's latest askings are read for the article that answered them. A group's
# article reaches its latest askings (closing its gap links every asking; a later repeat takes
# it), and reading them all cost 14 ms per /suggest for a group of 4,000 on SQLite.
LATEST_ASKINGS = 200


def _group_articles(root: int) -> list[str]:
    """Articles linked to the first asking or the latest askings of a group, the one most of
    them were answered with first (ties: the most recent).

    One fixed statement: on every /suggest, building this query with the ORM took 1.7 of its
    2 ms (bench/README.md, "Suggestions").
    """
    with connection.cursor() as cursor:
        cursor.execute(_GROUP_ARTICLES, [root, root, LATEST_ASKINGS])
        return [slug for (slug,) in cursor.fetchall()]


_QUESTIONS = Question._meta.db_table
_GROUP_ARTICLES = f"""
    SELECT asked.article_slug FROM (
        SELECT q.id, q.article_slug FROM "{_QUESTIONS}" AS q WHERE q.id = %s
        UNION ALL
        SELECT latest.id, latest.article_slug FROM (
            SELECT r.id, r.article_slug FROM "{_QUESTIONS}" AS r
            WHERE r.repeat_of_id = %s ORDER BY r.id DESC LIMIT %s
        ) AS latest
    ) AS asked
    WHERE asked.article_slug <> ''
    GROUP BY asked.article_slug
    ORDER BY COUNT(*) DESC, MAX(asked.id) DESC
    LIMIT 5
"""  # noqa: S608 (the table's name from the model)


def answering_article(user: User, vector: np.ndarray) -> dict[str, object] | None:
    """The article that answered earlier askings of this question (their group was linked to
    it, or its gap was closed by it), if the match is confident and the reader may open it."""
    groups = matching_groups(vector)
    if not groups or groups[0].confidence < settings.QUESTION_REPEAT_THRESHOLD:
        return None
    root = groups[0].group if isinstance(groups[0].group, int) else groups[0].best_key
    slugs = _group_articles(root)
    if not slugs:
        return None
    published = {
        article.slug: article
        for article in visible_articles(user).filter(slug__in=slugs, status="published")
    }
    article = next((published[slug] for slug in slugs if slug in published), None)
    if article is None:
        return None
    return {
        "id": article.pk,
        "slug": article.slug,
        "title": article.title,
        "url": f"/help/articles/{article.slug}/",
        "snippet_html": "",
        "score": round(groups[0].confidence, 4),
    }


@dataclass(frozen=True)
class TicketHints:
    """What the question index knows about a ticket's question, for the agent's ticket page."""

    answering_article: dict[str, object] | None  # the article that answered it before
    repeat_of: SimilarQuestion | None  # the earlier asking it repeats
    similar: list[SimilarQuestion]  # earlier questions like it, answered or not


def ticket_hints(user: User, ticket_id: int, *, k: int = 5) -> TicketHints:
    question = question_for("ticket", ticket_id)
    if question is None:
        return TicketHints(answering_article=None, repeat_of=None, similar=[])
    vector = vector_of(question)
    if vector is None:  # full-text-only mode: earlier questions by their words, no repeats
        return TicketHints(
            answering_article=None, repeat_of=None, similar=similar_to_ticket(user, ticket_id, k=k)
        )
    similar = similar_to_ticket(user, ticket_id, k=k)
    repeat_of = None
    if question.repeat_of_id is not None:
        repeat_of = next((s for s in similar if s.question_id == question.repeat_of_id), None)
    return TicketHints(
        answering_article=answering_article(user, vector), repeat_of=repeat_of, similar=similar
    )
