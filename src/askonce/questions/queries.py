"""Reads of the question index: earlier questions like this one, and self-service suggestions.

Customers only ever see their own organization's earlier questions; staff see all.
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import Q

from askonce.accounts.models import User
from askonce.kb.queries import visible_articles
from askonce.questions.index import matching_groups, nearest_questions, vector_of
from askonce.questions.models import Question


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
    user: User, vector: np.ndarray, *, exclude: set[int], k: int, answered_only: bool
) -> list[SimilarQuestion]:
    # Ask for more than k: some neighbours are the caller's other organizations' questions.
    neighbours = nearest_questions(vector, k=k * 5 + len(exclude), exclude=exclude)
    by_id = Question.objects.in_bulk([n.key for n in neighbours])
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


def question_for(source_type: str, source_id: int) -> Question | None:
    return (
        Question.objects.select_related("repeat_of")
        .filter(source_type=source_type, source_id=source_id)
        .first()
    )


def similar_to_ticket(user: User, ticket_id: int, *, k: int = 5) -> list[SimilarQuestion]:
    """Earlier questions most like this ticket's (answered or not), best first."""
    question = question_for("ticket", ticket_id)
    vector = vector_of(question) if question is not None else None
    if question is None or vector is None:
        return []
    exclude = {question.pk}
    return [
        similar
        for similar in _similar(user, vector, exclude=exclude, k=k, answered_only=False)
        if similar.asked_at <= question.asked_at
    ]


def similar_answered(user: User, vector: np.ndarray, *, k: int = 5) -> list[SimilarQuestion]:
    """Solved questions like this one (its embedding), with the answers support gave."""
    return _similar(user, vector, exclude=set(), k=k, answered_only=True)


def answering_article(user: User, vector: np.ndarray) -> dict[str, object] | None:
    """The article that answered earlier askings of this question (their group was linked to
    it, or its gap was closed by it), if the match is confident and the reader may open it."""
    groups = matching_groups(vector)
    if not groups or groups[0].confidence < settings.QUESTION_REPEAT_THRESHOLD:
        return None
    root = groups[0].group if isinstance(groups[0].group, int) else groups[0].best_key
    slug = (
        Question.objects.filter(Q(pk=root) | Q(repeat_of_id=root))
        .exclude(article_slug="")
        .values_list("article_slug", flat=True)
        .first()
    )
    if not slug:
        return None
    article = visible_articles(user).filter(slug=slug, status="published").first()
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
