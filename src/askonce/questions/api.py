"""Suggestion endpoints of /api/v1: for a question being typed, and for a ticket's question."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from askonce.accounts.models import User
from askonce.core.errors import NotFound
from askonce.kb.queries import suggested_articles
from askonce.questions import gaps, kcs, overlaps, queries
from askonce.questions.actions import embed
from askonce.questions.models import Gap, Overlap
from askonce.questions.schemas import (
    GapArticleOut,
    GapDetailOut,
    GapOut,
    KcsOut,
    OverlapDecisionIn,
    OverlapOut,
    SuggestionsOut,
)
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
    if not text.strip():
        return {"articles": [], "similar": []}
    articles = suggested_articles(user, text)
    vector = embed(text)  # once: both look-ups below compare the same question
    if vector is None:
        # Full-text-only mode (ASKONCE_EMBEDDINGS=off, or no model): earlier questions by words.
        return {"articles": articles, "similar": queries.similar_answered_by_words(user, text)}
    # The article that answered earlier askings of this very question comes first.
    answering = queries.answering_article(user, vector)
    if answering is not None:
        articles = [answering, *[a for a in articles if a["slug"] != answering["slug"]]][:5]
    return {"articles": articles, "similar": queries.similar_answered(user, vector)}


@router.get("/gaps", response=list[GapOut], summary="Documentation gaps")
def list_gaps(request: HttpRequest, status: str | None = "open", mine: bool = False) -> list[Gap]:
    """Questions asked at least twice that no article answers (staff only)."""
    return _with_owners(list(gaps.gaps_for(_user(request), status=status or None, mine=mine)))


@router.get("/gaps/{gap_id}", response=GapDetailOut, summary="A gap with every asking")
def get_gap(request: HttpRequest, gap_id: int) -> Gap:
    found = gaps.gaps_for(_user(request), status=None).filter(pk=gap_id).first()
    if found is None:
        raise NotFound(f"No gap #{gap_id}.")
    return _with_owners([found])[0]


def _with_owners(found: list[Gap]) -> list[Gap]:
    labels = gaps.owner_labels(found)
    for gap in found:
        gap.owner_label = labels.get(gap.pk)  # type: ignore[attr-defined]
    return found


@router.post("/gaps/{gap_id}/article", response={201: GapArticleOut}, summary="Write the article")
def write_article(request: HttpRequest, gap_id: int) -> Status:
    """A draft prefilled with the question and the best answer; publishing it closes the gap."""
    user = _user(request)
    gaps.gaps_for(user)  # staff only
    article = gaps.do_write_article_from_gap(gap=gaps.access_gap(gap_id), actor=user)
    return Status(
        201,
        {"article": article.slug, "edit_url": f"/console/kb/articles/{article.slug}/edit"},
    )


@router.get("/overlaps", response=list[OverlapOut], summary="Articles that overlap")
def list_overlaps(
    request: HttpRequest, status: str | None = "open", mine: bool = False
) -> list[Overlap]:
    """Published articles answering the same questions or saying the same thing (staff)."""
    return list(overlaps.overlaps_for(_user(request), status=status or None, mine=mine)[:500])


@router.get("/overlaps/{overlap_id}", response=OverlapOut, summary="One overlap")
def get_overlap(request: HttpRequest, overlap_id: int) -> Overlap:
    return overlaps.access_overlap(_user(request), overlap_id)


@router.post(
    "/overlaps/{overlap_id}/decision", response=OverlapOut, summary="Merge the two, or keep both"
)
def decide_overlap(request: HttpRequest, overlap_id: int, payload: OverlapDecisionIn) -> Overlap:
    """`{"decision": "merge", "keep": "<slug>"}` archives the other article and sends its
    readers to the one kept; `{"decision": "keep"}` keeps both and stops the flag."""
    user = _user(request)
    return overlaps.do_decide_overlap(
        overlap=overlaps.access_overlap(user, overlap_id),
        actor=user,
        decision=overlaps.Decision(payload.decision, payload.keep, payload.note),
    )


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


@router.get("/kcs", response=KcsOut, summary="KCS figures week by week")
def kcs_report(request: HttpRequest, weeks: int = 12) -> kcs.KcsFigures:
    """Link rate, repeat rate, gaps opened/closed, deflections per week, and the questions
    asked most that no article answers (staff)."""
    return kcs.kcs_figures(_user(request), weeks=weeks)
