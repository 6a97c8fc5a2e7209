"""Shapes of /api/v1/suggest and /api/v1/tickets/{id}/suggestions."""

from datetime import datetime

from ninja import Schema


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
