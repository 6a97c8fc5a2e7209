"""Shapes of /api/v1/suggest, /tickets/{id}/suggestions, /gaps and /overlaps."""

from datetime import date, datetime

from ninja import Schema

from askonce.kb.models import Article
from askonce.questions.gaps import occurrences
from askonce.questions.models import Gap, Overlap, Question


class ArticleSuggestionOut(Schema):
    id: int
    slug: str
    title: str
    url: str
    snippet_html: str
    score: float


class SimilarQuestionOut(Schema):
    question_id: int
    source_type: str
    source_id: int
    text: str
    asked_at: datetime
    similarity: float
    answer: str
    article: str


class SuggestionsOut(Schema):
    articles: list[ArticleSuggestionOut]
    similar: list[SimilarQuestionOut]
    repeat_of: SimilarQuestionOut | None = None


class OccurrenceOut(Schema):
    question_id: int
    source_type: str
    source_id: int
    text: str
    asked_at: datetime
    answer: str
    organization_id: int | None

    @staticmethod
    def resolve_question_id(obj: Question) -> int:
        return obj.pk


class GapOut(Schema):
    id: int
    title: str
    status: str
    category: str
    owner: str | None
    article: str | None
    occurrences: int
    opened_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_category(obj: Gap) -> str:
        return obj.category_slug

    @staticmethod
    def resolve_owner(obj: Gap) -> str | None:
        return getattr(obj, "owner_label", None)

    @staticmethod
    def resolve_article(obj: Gap) -> str | None:
        return obj.article_slug or None

    @staticmethod
    def resolve_occurrences(obj: Gap) -> int:
        return obj.occurrence_count  # type: ignore[attr-defined,no-any-return]


class GapDetailOut(GapOut):
    askings: list[OccurrenceOut]

    @staticmethod
    def resolve_askings(obj: Gap) -> list[Question]:
        return list(occurrences(obj))


class GapArticleOut(Schema):
    article: str
    edit_url: str


class OverlapArticleOut(Schema):
    id: int
    slug: str
    title: str
    owner: str
    status: str
    url: str

    @staticmethod
    def resolve_owner(obj: Article) -> str:
        return obj.owner_label

    @staticmethod
    def resolve_url(obj: Article) -> str:
        return f"/help/articles/{obj.slug}/"


class OverlapOut(Schema):
    id: int
    articles: list[OverlapArticleOut]
    reason: str
    similarity: float | None
    shared_questions: int
    status: str
    flagged_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    kept: str | None
    note: str

    @staticmethod
    def resolve_articles(obj: Overlap) -> list[Article]:
        return [obj.article, obj.other]

    @staticmethod
    def resolve_similarity(obj: Overlap) -> float | None:
        return round(obj.similarity, 4) if obj.similarity is not None else None

    @staticmethod
    def resolve_decided_by(obj: Overlap) -> str | None:
        return obj.decided_by.email if obj.decided_by is not None else None

    @staticmethod
    def resolve_kept(obj: Overlap) -> str | None:
        return obj.kept.slug if obj.kept is not None else None


class OverlapDecisionIn(Schema):
    decision: str  # "merge" or "keep"
    keep: str = ""  # on merge: the slug of the article that stays
    note: str = ""


class KcsWeekOut(Schema):
    start: date
    solved: int
    linked: int
    link_rate: float | None
    questions: int
    repeats: int
    repeat_rate: float | None
    gaps_opened: int
    gaps_closed: int
    deflected: int
    filed: int
    deflection_rate: float | None


class UnansweredOut(Schema):
    gap_id: int
    title: str
    askings: int
    last_asked_at: datetime | None
    category: str


class KcsOut(Schema):
    weeks: list[KcsWeekOut]
    totals: KcsWeekOut
    open_gaps: int
    open_overlaps: int
    top_unanswered: list[UnansweredOut]
