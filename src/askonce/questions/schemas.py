"""Shapes of /api/v1/suggest and /api/v1/tickets/{id}/suggestions."""

from datetime import datetime

from ninja import Schema

from askonce.questions.gaps import occurrences
from askonce.questions.models import Gap, Question


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
