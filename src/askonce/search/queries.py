"""Reads of the search index: full-text search scoped to what the reader may see, and counts.

`search_documents` is the one door for every search box (help center, agent console, API);
the engine follows the database in use (engines/), the answer is the same shape on both.
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from django.db import connection

from askonce.search.engines import (
    CANDIDATE_LIMIT,
    MATCH_END,
    MATCH_START,
    DocumentFilter,
    Page,
    RankedDocument,
    SqlParameter,
)
from askonce.search.engines import postgresql as postgresql_engine
from askonce.search.engines import sqlite as sqlite_engine
from askonce.search.models import SearchDocument, Visibility
from askonce.search.query_language import parse_query

MAX_LIMIT = 100
# No more than this many matches are ever ranked, so no page starts after them.
MAX_OFFSET = CANDIDATE_LIMIT
MAX_KINDS = 20
_MARKS = re.compile(f"([{MATCH_START}{MATCH_END}])")


@dataclass(frozen=True, slots=True)
class Audience:
    """Who is searching: staff see every document; anyone else sees public documents and
    those of their own organization."""

    staff: bool
    organization_id: int | None = None

    @classmethod
    def public(cls) -> "Audience":
        """An anonymous reader of the help center."""
        return cls(staff=False, organization_id=None)


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str
    ref_id: int
    title: str
    # Safe HTML: the text escaped, and only the matched words wrapped in <mark>…</mark>.
    title_html: str
    url: str
    category: str
    snippet_html: str
    # Higher is better; comparable only within one result list.
    score: float


@dataclass(frozen=True, slots=True)
class SearchResults:
    hits: list[SearchHit]
    # Every match the reader may see; None when the query is broad (more than
    # engines.CANDIDATE_LIMIT matches), whose ranking then covers the newest of them.
    total: int | None
    query: str
    # True when no document had every word, and these hits have only some of them.
    relaxed: bool = False


def search_documents(
    query: str,
    *,
    audience: Audience,
    kinds: Sequence[str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResults:
    """The documents matching what was typed, best first, that `audience` may see.

    Any text is a valid query (see query_language): odd input finds nothing, never raises.
    When a question of several words finds nothing with all of them, it is asked again with
    any of them (stop words left out), and the answer says so with `relaxed`."""
    parsed = parse_query(query)
    limit = min(max(limit, 1), MAX_LIMIT)
    offset = min(max(offset, 0), MAX_OFFSET)
    if parsed.is_empty or (kinds is not None and not kinds):
        return SearchResults(hits=[], total=0, query=query)
    engine = _engine()
    document_filter = _document_filter(audience, kinds)
    with connection.cursor() as cursor:
        page = engine.search(
            cursor,
            parsed,
            any_term=False,
            document_filter=document_filter,
            limit=limit,
            offset=offset,
        )
        relaxed = parsed.relaxed()
        if page.total == 0 and relaxed is not None:
            page = engine.search(
                cursor,
                relaxed,
                any_term=True,
                document_filter=document_filter,
                limit=limit,
                offset=offset,
            )
            return _results(page, query, relaxed=True)
    return _results(page, query, relaxed=False)


def count_documents(kind: str | None = None) -> int:
    documents = SearchDocument.objects.all()
    if kind is not None:
        documents = documents.filter(kind=kind)
    return documents.count()


def document_for(kind: str, ref_id: int) -> SearchDocument | None:
    """The indexed copy of one document (e.g. to check what search shows of it)."""
    return SearchDocument.objects.filter(kind=kind, ref_id=ref_id).first()


def _engine() -> ModuleType:
    if connection.vendor == "sqlite":
        return sqlite_engine
    if connection.vendor == "postgresql":
        return postgresql_engine
    raise RuntimeError(f"Full-text search runs on SQLite or PostgreSQL, not {connection.vendor}.")


def _document_filter(audience: Audience, kinds: Sequence[str] | None) -> DocumentFilter:
    conditions: list[str] = []
    params: list[SqlParameter] = []
    if not audience.staff:
        if audience.organization_id is None:
            conditions.append("d.visibility = %s")
            params.append(Visibility.PUBLIC.value)
        else:
            conditions.append(
                "(d.visibility = %s OR (d.visibility = %s AND d.organization_id = %s))"
            )
            params += [
                Visibility.PUBLIC.value,
                Visibility.ORGANIZATION.value,
                audience.organization_id,
            ]
    if kinds is not None:
        wanted = sorted({str(kind) for kind in kinds})[:MAX_KINDS]
        conditions.append(f"d.kind IN ({', '.join(['%s'] * len(wanted))})")
        params += wanted
    return DocumentFilter(sql=" AND ".join(conditions) or "1 = 1", params=tuple(params))


def _results(page: Page, query: str, *, relaxed: bool) -> SearchResults:
    return SearchResults(
        hits=[_hit(document) for document in page.documents],
        total=page.total,
        query=query,
        relaxed=relaxed,
    )


def _hit(document: RankedDocument) -> SearchHit:
    return SearchHit(
        kind=document.kind,
        ref_id=document.ref_id,
        title=document.title,
        title_html=marked_html(document.marked_title or document.title),
        url=document.url,
        category=document.category,
        snippet_html=marked_html(document.marked_snippet),
        score=document.score,
    )


def marked_html(marked_text: str) -> str:
    """Escaped HTML of text whose matches the engine marked with MATCH_START/MATCH_END.

    Everything is escaped first; then each mark becomes a tag, and only a start after an end
    (or at the beginning) or an end after a start counts, so the tags always pair up."""
    parts: list[str] = []
    open_mark = False
    for piece in _MARKS.split(marked_text):
        if piece == MATCH_START:
            if not open_mark:
                parts.append("<mark>")
                open_mark = True
        elif piece == MATCH_END:
            if open_mark:
                parts.append("</mark>")
                open_mark = False
        else:
            parts.append(html.escape(piece))
    if open_mark:
        parts.append("</mark>")
    return "".join(parts)
