"""The search endpoint of /api/v1: one query, scoped to what the caller may see."""

from typing import Protocol

from django.http import HttpRequest
from ninja import Query, Router

from askonce.search.queries import Audience, search_documents
from askonce.search.schemas import MAX_PAGE_SIZE, SearchOut, SearchParams

router = Router(tags=["search"])


class _Reader(Protocol):
    """The signed-in user as search needs it: accounts' User (search sits below accounts)."""

    is_staff_member: bool
    organization_id: int | None


def _audience(request: HttpRequest) -> Audience:
    reader: _Reader = request.auth  # type: ignore[attr-defined]
    if reader.is_staff_member:
        return Audience(staff=True)
    return Audience(staff=False, organization_id=reader.organization_id)


@router.get("/search", response=SearchOut, summary="Search articles, tickets and topics")
def search(request: HttpRequest, params: Query[SearchParams]) -> dict[str, object]:
    kinds = [kind.strip() for kind in (params.kind or "").split(",") if kind.strip()]
    results = search_documents(
        params.q,
        audience=_audience(request),
        kinds=kinds or None,
        limit=min(params.limit, MAX_PAGE_SIZE),
        offset=params.offset,
    )
    return {
        "items": results.hits,
        "count": results.total,
        "query": results.query,
        "relaxed": results.relaxed,
    }
