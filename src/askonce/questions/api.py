"""Suggestion endpoints of /api/v1: for a question being typed, and for a ticket's question."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from askonce.accounts.models import User
from askonce.kb.queries import suggested_articles
from askonce.questions import queries
from askonce.questions.schemas import SuggestionsOut
from askonce.tickets.queries import access_ticket, article_suggestions

router = Router(tags=["questions"])

# A question is a sentence or two; more is noise for both engines.
MAX_QUESTION_CHARS = 1_000


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


@router.get("/suggest", response=SuggestionsOut, summary="Self-service suggestions for a question")
def suggest(request: HttpRequest, q: str = "") -> dict[str, Any]:
    """Articles first, then earlier solved questions like it with the answers they got
    (customers: their own organization's only)."""
    user = _user(request)
    text = q.replace("\x00", " ")[:MAX_QUESTION_CHARS]
    return {
        "articles": suggested_articles(user, text),
        "similar": queries.similar_answered(user, text) if text.strip() else [],
    }


@router.get(
    "/tickets/{ticket_id}/suggestions",
    response=SuggestionsOut,
    summary="Articles and earlier questions for a ticket",
)
def ticket_suggestions(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    user = _user(request)
    ticket = access_ticket(user, ticket_id)
    question = queries.question_for("ticket", ticket.pk)
    similar = queries.similar_to_ticket(user, ticket.pk)
    repeat_of = None
    if question is not None and question.repeat_of is not None:
        repeat_of = next((s for s in similar if s.question_id == question.repeat_of_id), None)
    return {
        "articles": article_suggestions(user, ticket),
        "similar": similar,
        "repeat_of": repeat_of,
    }
