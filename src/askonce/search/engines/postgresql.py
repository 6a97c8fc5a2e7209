"""Full-text search on PostgreSQL: a generated tsvector column with a GIN index, ts_rank.

The column (migration 0001) is `setweight(title, 'A') || setweight(body, 'B')` under the
`english` configuration, computed by PostgreSQL on every write of the row.
"""

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

DOCUMENTS_TABLE = "search_searchdocument"
VECTOR_INDEX = "search_document_vector_gin"
# ts_rank's weights for labels {D, C, B, A}: a title (A) match counts ten times a body (B)
# match, as on SQLite. Normalization 1 (divide by 1 + log(length)) keeps long bodies from
# winning by repeating a word.
RANK_WEIGHTS = "{0, 0, 0.1, 1}"
# ts_headline reads the whole text it is given: a bounded prefix keeps one huge document from
# slowing the page; a match further in shows the body's first words instead.
HEADLINE_SOURCE_CHARACTERS = 20_000
# PostgreSQL's parser drops what looks like an HTML tag from headlines; documents are plain
# text, so `<` goes in as a control character (none is left in indexed text) and comes back.
_LESS_THAN = "\x05"
_TITLE_OPTIONS = f"HighlightAll=true, StartSel={MATCH_START}, StopSel={MATCH_END}"
_SNIPPET_OPTIONS = (
    f"StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords=32, MinWords=12, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)


def tsquery(query: ParsedQuery, *, any_term: bool = False) -> tuple[str, list[str]]:
    """SQL for the tsquery, with its parameters: user text only ever goes in as a parameter of
    a function that reads no operators (phraseto_tsquery), or as letters and digits."""
    required = [_term(term) for term in query.required]
    sql = (" || " if any_term else " && ").join(part for part, _ in required)
    params = [param for _, param in required]
    if query.excluded:
        excluded = [_term(term) for term in query.excluded]
        sql = f"({sql}) && !!({' || '.join(part for part, _ in excluded)})"
        params += [param for _, param in excluded]
    return f"({sql})", params


def _term(term: Term) -> tuple[str, str]:
    if term.prefix:
        # Letters and digits only (query_language), so to_tsquery sees no operator but ours.
        words = [*term.words[:-1], f"{term.words[-1]}:*"]
        return "to_tsquery('english', %s)", " <-> ".join(words)
    return "phraseto_tsquery('english', %s)", term.text


def search(
    cursor: CursorWrapper,
    query: ParsedQuery,
    *,
    any_term: bool,
    document_filter: DocumentFilter,
    limit: int,
    offset: int,
) -> Page:
    query_sql, query_params = tsquery(query, any_term=any_term)
    # ts_rank scores a query with `!!` (excluded words) as 0, and headlines have nothing to
    # mark for it: both get the query without the exclusions.
    wanted_sql, wanted_params = tsquery(ParsedQuery(terms=query.required), any_term=any_term)
    # Candidates are the newest CANDIDATE_LIMIT matches, found through the GIN index; only
    # they are ranked, and only the page's rows get headlines (ts_headline re-parses text).
    # The total is counted when every match is a candidate.
    cursor.execute(
        f"""
        WITH {_candidates(query_sql, wanted_sql)},
        page AS (
            SELECT d.id, ts_rank(%s::float4[], d.search_vector, q.wanted, 1) AS score,
                   d.popularity
            FROM candidates AS c JOIN {DOCUMENTS_TABLE} AS d ON d.id = c.id, q
            WHERE ({document_filter.sql})
            ORDER BY score DESC, d.popularity DESC, d.id
            LIMIT %s OFFSET %s
        )
        SELECT d.id, d.kind, d.ref_id, d.title, d.url, d.category, page.score,
               ts_headline('english', replace(d.title, '<', %s), q.wanted, %s),
               ts_headline('english', replace(left(d.body, %s), '<', %s), q.wanted, %s),
               CASE WHEN (SELECT count(*) FROM candidates) < %s THEN (
                   SELECT count(*) FROM candidates AS c
                   JOIN {DOCUMENTS_TABLE} AS d ON d.id = c.id
                   WHERE ({document_filter.sql})
               ) END
        FROM page JOIN {DOCUMENTS_TABLE} AS d ON d.id = page.id, q
        ORDER BY page.score DESC, page.popularity DESC, d.id
        """,  # noqa: S608 (SQL from constants; input in parameters)
        [
            *query_params,
            *wanted_params,
            CANDIDATE_LIMIT,
            RANK_WEIGHTS,
            *document_filter.params,
            limit,
            offset,
            _LESS_THAN,
            _TITLE_OPTIONS,
            HEADLINE_SOURCE_CHARACTERS,
            _LESS_THAN,
            _SNIPPET_OPTIONS,
            CANDIDATE_LIMIT,
            *document_filter.params,
        ],
    )
    rows = cursor.fetchall()
    documents = [
        RankedDocument(
            id=row[0],
            kind=row[1],
            ref_id=row[2],
            title=row[3],
            url=row[4],
            category=row[5],
            score=float(row[6]),
            marked_title=row[7].replace(_LESS_THAN, "<"),
            marked_snippet=row[8].replace(_LESS_THAN, "<"),
        )
        for row in rows
    ]
    if rows:
        return Page(documents=documents, total=rows[0][9])
    if offset == 0:
        return Page(documents=[], total=0)
    # A page past the end has no row to carry the total: it is counted on its own.
    cursor.execute(
        f"""
        WITH {_candidates(query_sql, wanted_sql)}
        SELECT count(*), count(*) FILTER (WHERE {document_filter.sql})
        FROM candidates AS c JOIN {DOCUMENTS_TABLE} AS d ON d.id = c.id
        """,  # noqa: S608 (SQL from constants; input in parameters)
        [*query_params, *wanted_params, CANDIDATE_LIMIT, *document_filter.params],
    )
    matched, visible = cursor.fetchone()
    return Page(documents=[], total=None if matched >= CANDIDATE_LIMIT else int(visible))


def _candidates(query_sql: str, wanted_sql: str) -> str:
    """The CTEs `q` (the query, and `wanted`: it without exclusions) and `candidates`.

    Nothing is wanted when the query is stop words alone (the english configuration drops
    them); a bare `!!'card'` would then make PostgreSQL read every row, so it finds nothing."""
    return f"""
        q AS MATERIALIZED (SELECT {query_sql} AS query, {wanted_sql} AS wanted),
        candidates AS MATERIALIZED (
            SELECT d.id FROM {DOCUMENTS_TABLE} AS d, q
            WHERE numnode(q.wanted) > 0 AND d.search_vector @@ q.query
            ORDER BY d.id DESC
            LIMIT %s
        )"""  # noqa: S608 (SQL from constants; input in parameters)


def optimize(cursor: CursorWrapper) -> None:
    """Merge the GIN index's pending list (where bulk inserts park entries) and renew the
    planner's statistics, so the first searches after an import are as fast as later ones."""
    cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [VECTOR_INDEX])
    cursor.execute(f"ANALYZE {DOCUMENTS_TABLE}")
