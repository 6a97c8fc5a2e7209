"""Shapes of search questions and answers in the API (django-ninja schemas)."""

from ninja import Field, Schema

from askonce.search.engines import CANDIDATE_LIMIT

MAX_PAGE_SIZE = 50


class SearchParams(Schema):
    q: str = Field("", description='Words (all must match), "phrases", prefix*, -excluded.')
    kind: str | None = Field(None, description="Only these kinds, comma-separated: article,ticket")
    limit: int = Field(20, ge=1, description=f"Hits per page; more than {MAX_PAGE_SIZE} give 50.")
    offset: int = Field(0, ge=0)


class SearchHitOut(Schema):
    kind: str = Field(..., description="What was found: article, ticket, topic…")
    ref_id: int = Field(..., description="Its id in its own domain.")
    title: str
    title_html: str = Field(..., description="The title as safe HTML, matches in <mark>.")
    url: str
    category: str
    snippet_html: str = Field(
        ..., description="A passage of the body as safe HTML, matches in <mark>."
    )
    score: float = Field(..., description="Relevance, higher is better, within this answer.")


class SearchOut(Schema):
    items: list[SearchHitOut]
    count: int | None = Field(
        ...,
        description=f"How many documents match; null when more than {CANDIDATE_LIMIT:,} do "
        f"(then the newest {CANDIDATE_LIMIT:,} of them are ranked).",
    )
    query: str
    relaxed: bool = Field(
        ..., description="True when no document has every word and these have only some."
    )
