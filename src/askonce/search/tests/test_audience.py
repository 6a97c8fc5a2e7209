"""Who sees what: every answer of search_documents (the page, its total, a page past the end, the
"any word" retry, a broad query) holds only what the audience may see, on either database.

A customer sees public documents and those of their own organization; never staff-only ones,
never another organization's. The SQLite engine joins its matches to the documents in a fixed
order (engines/sqlite.py): the last test checks that order, which kept a customer's search
2.5x slower than staff's while the planner chose it."""

from collections.abc import Callable

import pytest
from django.db import connection

from askonce.search.engines import postgresql as postgresql_engine
from askonce.search.engines import sqlite as sqlite_engine
from askonce.search.models import SearchDocument
from askonce.search.queries import Audience, SearchResults, search_documents

pytestmark = pytest.mark.django_db
STAFF = Audience(staff=True)
VISITOR = Audience.public()
ACME = Audience(staff=False, organization_id=7)
GLOBEX = Audience(staff=False, organization_id=8)
# What each reader may see of the documents made by `_documents` (ref_ids of articles).
PUBLIC_REFS = {1, 2, 3, 4, 5, 6}
ACME_REFS = {11, 12, 13}
GLOBEX_REFS = {21, 22}
STAFF_REFS = {31, 32, 33, 34}
EVERY_ARTICLE = PUBLIC_REFS | ACME_REFS | GLOBEX_REFS | STAFF_REFS
SEES = {
    "staff": (STAFF, EVERY_ARTICLE),
    "visitor": (VISITOR, PUBLIC_REFS),
    "customer of acme": (ACME, PUBLIC_REFS | ACME_REFS),
    "customer of globex": (GLOBEX, PUBLIC_REFS | GLOBEX_REFS),
}


@pytest.fixture
def _documents(make_document: Callable[..., SearchDocument]) -> None:
    """Articles about a router in every visibility, interleaved (so that no audience's
    documents sit together in the index), and tickets that must stay out of article searches.
    Only the staff-only ones say "firmware": a reader who may not see them finds no article
    with both words."""
    placed = [
        *((ref, "public", None) for ref in sorted(PUBLIC_REFS)),
        *((ref, "organization", 7) for ref in sorted(ACME_REFS)),
        *((ref, "organization", 8) for ref in sorted(GLOBEX_REFS)),
        *((ref, "staff", None) for ref in sorted(STAFF_REFS)),
    ]
    placed.sort(key=lambda row: row[0] % 10)
    for ref_id, visibility, organization_id in placed:
        secret = " The firmware key is in the vault." if visibility == "staff" else ""
        make_document(
            f"Router guide {ref_id}",
            f"Restart the router and wait a minute.{secret}",
            ref_id=ref_id,
            visibility=visibility,
            organization_id=organization_id,
            popularity=ref_id,
        )
        make_document(
            f"Router ticket {ref_id}",
            "My router blinks.",
            kind="ticket",
            ref_id=ref_id,
            visibility=visibility,
            organization_id=organization_id,
        )


def _articles(query: str, audience: Audience, **options: int) -> SearchResults:
    return search_documents(query, audience=audience, kinds=["article"], **options)


def _refs(results: SearchResults) -> list[int]:
    assert {hit.kind for hit in results.hits} <= {"article"}
    return [hit.ref_id for hit in results.hits]


@pytest.mark.usefixtures("_documents")
@pytest.mark.parametrize("reader", SEES)
def test_every_page_and_the_total_hold_only_what_the_reader_may_see(reader: str) -> None:
    audience, visible = SEES[reader]

    pages = [_articles("router", audience, limit=4, offset=offset) for offset in (0, 4, 8, 12)]
    past_the_end = _articles("router", audience, limit=4, offset=40)

    seen = [ref for page in pages for ref in _refs(page)]
    assert sorted(seen) == sorted(visible)  # each once, none missing, none extra
    assert seen == _refs(_articles("router", audience, limit=50))  # one order, page by page
    assert {page.total for page in pages} == {past_the_end.total} == {len(visible)}
    assert past_the_end.hits == []


@pytest.mark.usefixtures("_documents")
@pytest.mark.parametrize("reader", SEES)
def test_the_any_word_retry_holds_only_what_the_reader_may_see(reader: str) -> None:
    """Only staff-only articles have both words: staff get them; anyone else gets the retry
    with any of the words, over what they may see, and no staff-only article in it."""
    audience, visible = SEES[reader]

    results = _articles("router firmware", audience, limit=50)

    if audience.staff:
        assert not results.relaxed and sorted(_refs(results)) == sorted(STAFF_REFS)
    else:
        assert results.relaxed and sorted(_refs(results)) == sorted(visible)
        assert results.total == len(visible)


@pytest.mark.usefixtures("_documents")
@pytest.mark.parametrize("reader", SEES)
def test_a_broad_query_ranks_only_what_the_reader_may_see(reader: str, monkeypatch) -> None:
    """More matches than are ranked: the total stays open, the hits stay the reader's."""
    monkeypatch.setattr(sqlite_engine, "CANDIDATE_LIMIT", 10)
    monkeypatch.setattr(postgresql_engine, "CANDIDATE_LIMIT", 10)
    audience, visible = SEES[reader]

    results = _articles("router", audience, limit=50)

    assert results.total is None
    # The ten newest matches are the last five articles made and their tickets.
    assert set(_refs(results)) == visible & {33, 4, 34, 5, 6}


@pytest.mark.usefixtures("_documents")
def test_sqlite_looks_documents_up_from_the_matches_for_every_audience() -> None:
    """Every statement reaches the documents table by primary key from the matches, never by
    walking an index of it (the unique (kind, ref_id) index, which held every document of a
    kind: the cost grew with the table, and most for readers who are not staff)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query planner")
    statements: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        for audience, _ in SEES.values():
            _articles("router", audience)
            _articles("router", audience, offset=40)  # a page past the end: counted on its own
            _articles("router firmware", audience)  # and the "any word" retry

    joined = f"{sqlite_engine.DOCUMENTS_TABLE} AS d "
    ranking = [row for row in statements if joined in row[0]]
    assert len(ranking) >= 3 * len(SEES)
    with connection.cursor() as cursor:
        for sql, params in ranking:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            steps = [row[3] for row in cursor.fetchall()]
            on_documents = [step for step in steps if step.split()[1:2] == ["d"]]
            assert on_documents, steps
            assert set(on_documents) == {"SEARCH d USING INTEGER PRIMARY KEY (rowid=?)"}, steps
