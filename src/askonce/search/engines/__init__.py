"""Full-text search per database: FTS5 on SQLite, tsvector/GIN on PostgreSQL.

Both take a parsed query and the same document filter, and answer with the same `Page`; the
choice between them is made by `queries.search_documents` from the connection in use.
"""

from dataclasses import dataclass

# Marks around matched words in titles and snippets. Control characters cannot occur in
# indexed text (actions.py removes them), so these are ours; queries.py turns the text into
# escaped HTML and only then the marks into <mark> tags.
MATCH_START = "\x02"
MATCH_END = "\x03"
# Ranking every match of a broad query ("card" is in 88 % of the benchmark's 100,000 articles)
# costs ~1 µs per match on SQLite and more on PostgreSQL: far over a 20 ms budget. So at most
# this many matches, the most recently added, are ranked; below it the ranking is exact and
# the total is counted. See bench/README.md, "Search".
CANDIDATE_LIMIT = 2_000


# The engines build SQL text from constants and from fragments of this app (table names, the
# audience filter, calls of tsquery functions); whatever a user typed travels as parameters.
SqlParameter = str | int | float | None


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    """A WHERE condition on the documents table (alias `d`), with its parameters."""

    sql: str
    params: tuple[SqlParameter, ...]


@dataclass(frozen=True, slots=True)
class RankedDocument:
    id: int
    kind: str
    ref_id: int
    title: str
    url: str
    category: str
    score: float
    # Title and snippet with MATCH_START/MATCH_END around matches, not yet escaped.
    marked_title: str
    marked_snippet: str


@dataclass(frozen=True, slots=True)
class Page:
    documents: list[RankedDocument]
    # Every match the filter lets through, or None when more than CANDIDATE_LIMIT matched.
    total: int | None
