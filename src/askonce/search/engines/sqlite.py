"""Full-text search on SQLite: an FTS5 table over the documents, ranked with BM25.

The FTS5 table (migration 0001) is external-content: it holds only the index, reads titles
and bodies from `search_searchdocument` by rowid, and triggers keep it in step.

One statement ranks: FTS5 walks the query's matches newest first and scores at most
CANDIDATE_LIMIT of them with bm25(), however many there are, without touching the documents
table; those are joined to the documents, filtered by audience and sorted, and one page is
kept. A second statement marks the matches in the page's titles and snippets.

Every join of the matches to the documents is a CROSS JOIN, which SQLite takes as "this
order": the matches (2,000 at most) outside, each looking its document up by primary key.
Left to choose, the planner (which has no statistics on the documents table) ran the count of
what the reader may see the other way round when kinds were given: every document of those
kinds through the unique index on (kind, ref_id), each probing the matches. For staff that was
a walk of the whole index (1 ms at 10,000 documents); for anyone else each step also read the
row itself, past the body, for its visibility and organization (5 ms at 10,000 documents,
growing with the table, not with the matches): a customer's article search took 2.5x as long
as staff's (bench/search_audience.py).
"""

import json

from django.db.backends.utils import CursorWrapper

from askonce.search.engines import (
    CANDIDATE_LIMIT,
    MATCH_END,
    MATCH_START,
    DocumentFilter,
    Page,
    RankedDocument,
)
from askonce.search.query_language import ParsedQuery, Term

FTS_TABLE = "search_searchdocument_fts"
DOCUMENTS_TABLE = "search_searchdocument"
SNIPPET_TOKENS = 32
# BM25 with a title match weighing ten times a body match. Called as a function rather than
# through FTS5's configurable `rank` column, which measured 1.6x slower (bench/README.md).
_BM25 = f"bm25({FTS_TABLE}, 10.0, 1.0)"


def match_expression(query: ParsedQuery, *, any_term: bool = False) -> str:
    """The FTS5 query: every term a quoted string, so nothing typed is an FTS5 operator."""
    expression = (" OR " if any_term else " AND ").join(_quoted(term) for term in query.required)
    if query.excluded:
        excluded = " OR ".join(_quoted(term) for term in query.excluded)
        expression = f"({expression}) NOT ({excluded})"
    return expression


def _quoted(term: Term) -> str:
    # Words hold letters and digits only (query_language), so no quote can end the string
    # early; FTS5 reads a multi-word string as a phrase, and `*` after it as a prefix.
    return '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")


def search(
    cursor: CursorWrapper,
    query: ParsedQuery,
    *,
    any_term: bool,
    document_filter: DocumentFilter,
    limit: int,
    offset: int,
) -> Page:
    expression = match_expression(query, any_term=any_term)
    # The CTE is materialized so that bm25() runs inside FTS5's own scan. The last column
    # counts what the reader may see when every match was ranked (NULL when there were more).
    cursor.execute(
        f"""
        WITH matches AS MATERIALIZED (
            SELECT rowid AS id, {_BM25} AS bm25
            FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s
            ORDER BY rowid DESC
            LIMIT %s
        )
        SELECT d.id, d.kind, d.ref_id, d.title, d.url, d.category, m.bm25,
               CASE WHEN (SELECT count(*) FROM matches) < %s THEN (
                   SELECT count(*) FROM matches AS counted
                   CROSS JOIN {DOCUMENTS_TABLE} AS d ON d.id = counted.id
                   WHERE ({document_filter.sql})
               ) END
        FROM matches AS m CROSS JOIN {DOCUMENTS_TABLE} AS d ON d.id = m.id
        WHERE ({document_filter.sql})
        ORDER BY m.bm25, d.popularity DESC, d.id
        LIMIT %s OFFSET %s
        """,  # noqa: S608 (SQL from constants; input in parameters)
        [
            expression,
            CANDIDATE_LIMIT,
            CANDIDATE_LIMIT,
            *document_filter.params,
            *document_filter.params,
            limit,
            offset,
        ],
    )
    rows = cursor.fetchall()
    marks = _marked_texts(
        cursor,
        expression,
        [row[0] for row in rows],
        has_prefix=any(term.prefix for term in query.terms),
    )
    documents = [
        RankedDocument(
            id=row[0],
            kind=row[1],
            ref_id=row[2],
            title=row[3],
            url=row[4],
            category=row[5],
            score=-row[6],  # FTS5's bm25() is lower for better matches
            marked_title=marks.get(row[0], (row[3], ""))[0],
            marked_snippet=marks.get(row[0], ("", ""))[1],
        )
        for row in rows
    ]
    if rows:
        return Page(documents=documents, total=rows[0][7])
    if offset == 0:
        return Page(documents=[], total=0)
    # A page past the end has no row to carry the total: it is counted on its own.
    return Page(documents=[], total=_count(cursor, expression, document_filter))


def _marked_texts(
    cursor: CursorWrapper, expression: str, ids: list[int], *, has_prefix: bool
) -> dict[int, tuple[str, str]]:
    """Title and body snippet with the matches marked, for the page's documents only."""
    if not ids:
        return {}
    # Without a prefix FTS5 looks each id up (20 at most). Each lookup evaluates the query
    # afresh, and for a prefix such as `charg*` that means merging the lists of every word it
    # expands to (2 ms at 100,000 documents): then one pass over the ids' range is cheaper,
    # with `+rowid` so that SQLite filters instead of handing FTS5 the ids one by one.
    in_page = "rowid BETWEEN %s AND %s AND +rowid" if has_prefix else "rowid"
    cursor.execute(
        f"""
        SELECT rowid,
               highlight({FTS_TABLE}, 0, %s, %s),
               snippet({FTS_TABLE}, 1, %s, %s, '…', {SNIPPET_TOKENS})
        FROM {FTS_TABLE}
        WHERE {FTS_TABLE} MATCH %s AND {in_page} IN (SELECT value FROM json_each(%s))
        """,  # noqa: S608 (SQL from constants; input in parameters)
        [
            MATCH_START,
            MATCH_END,
            MATCH_START,
            MATCH_END,
            expression,
            *([min(ids), max(ids)] if has_prefix else []),
            json.dumps(ids),
        ],
    )
    return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _count(cursor: CursorWrapper, expression: str, document_filter: DocumentFilter) -> int | None:
    cursor.execute(
        f"""
        WITH matches AS MATERIALIZED (
            SELECT rowid AS id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s
            ORDER BY rowid DESC
            LIMIT %s
        )
        SELECT count(*), coalesce(sum(({document_filter.sql})), 0)
        FROM matches AS m CROSS JOIN {DOCUMENTS_TABLE} AS d ON d.id = m.id
        """,  # noqa: S608 (SQL from constants; input in parameters)
        [expression, CANDIDATE_LIMIT, *document_filter.params],
    )
    matched, visible = cursor.fetchone()
    return None if matched >= CANDIDATE_LIMIT else int(visible)


def optimize(cursor: CursorWrapper) -> None:
    """Merge the index's b-tree segments into one: fewer pages to read per search."""
    cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608
