"""Shapes of /api/v1/articles, /categories and /documentation-tasks."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from askonce.kb.models import Article, Category, DocumentationTask, Revision
from askonce.kb.queries import Owner


class ArticleIn(Schema):
    title: str
    body: str = ""
    category: str
    owner: str | None = Field(None, description="A staff email, or 'team:<slug>'.")
    slug: str | None = None
    internal: bool = False
    status: Literal["draft", "published"] = "draft"
    note: str | None = None
    related: list[str] = Field(default_factory=list, description="Slugs of related articles.")


class ArticleUpdate(Schema):
    title: str | None = None
    body: str | None = None
    category: str | None = None
    owner: str | None = None
    internal: bool | None = None
    status: Literal["draft", "published", "archived"] | None = None
    note: str | None = None
    related: list[str] | None = None


class ArticleOut(Schema):
    id: int
    slug: str
    title: str
    category: str
    owner: str | None
    status: str
    internal: bool
    revision: int
    url: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    review_due_at: datetime | None
    stale: bool
    views: int
    helpful: int
    not_helpful: int

    @staticmethod
    def resolve_category(obj: Article) -> str:
        return obj.category.slug

    @staticmethod
    def resolve_owner(obj: Article) -> str | None:
        return obj.owner_label or None

    @staticmethod
    def resolve_revision(obj: Article) -> int:
        return obj.revision_number

    @staticmethod
    def resolve_url(obj: Article) -> str:
        return f"/help/articles/{obj.slug}/"

    @staticmethod
    def resolve_stale(obj: Article) -> bool:
        return obj.is_stale

    @staticmethod
    def resolve_views(obj: Article) -> int:
        return obj.view_count

    @staticmethod
    def resolve_helpful(obj: Article) -> int:
        return obj.helpful_count

    @staticmethod
    def resolve_not_helpful(obj: Article) -> int:
        return obj.not_helpful_count


class ArticleDetailOut(ArticleOut):
    body: str
    body_html: str
    related: list[str]

    @staticmethod
    def resolve_body_html(obj: Article) -> str:
        return obj.rendered_html  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def resolve_related(obj: Article) -> list[str]:
        return obj.visible_related  # type: ignore[attr-defined,no-any-return]


class RevisionOut(Schema):
    number: int
    title: str
    author: str | None
    note: str
    created_at: datetime

    @staticmethod
    def resolve_author(obj: Revision) -> str | None:
        return obj.author.email if obj.author else None


class RevisionDetailOut(RevisionOut):
    body: str


class DiffLineOut(Schema):
    kind: str
    text: str


class VoteIn(Schema):
    helpful: bool
    comment: str = ""


class VoteOut(Schema):
    helpful: int
    not_helpful: int


class CategoryIn(Schema):
    slug: str
    name: str
    owner: str | None = None
    description: str = ""
    review_interval_days: int = 180


class CategoryOut(Schema):
    slug: str
    name: str
    description: str
    owner: str | None
    review_interval_days: int

    @staticmethod
    def resolve_owner(obj: Category) -> str | None:
        return Owner(user=obj.owner_user, team=obj.owner_team).label or None


class TaskOut(Schema):
    id: int
    ticket_id: int | None
    summary: str
    category: str | None
    assignee: str | None
    status: str
    article: str | None
    created_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_category(obj: DocumentationTask) -> str | None:
        return obj.category.slug if obj.category else None

    @staticmethod
    def resolve_assignee(obj: DocumentationTask) -> str | None:
        return Owner(user=obj.assignee_user, team=obj.assignee_team).label or None

    @staticmethod
    def resolve_article(obj: DocumentationTask) -> str | None:
        return obj.article.slug if obj.article else None


class PreviewIn(Schema):
    body: str


class PreviewOut(Schema):
    html: str
