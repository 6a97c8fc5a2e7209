"""Knowledge-base endpoints of /api/v1: articles, revisions, votes, categories, tasks."""

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from askonce.accounts.models import User
from askonce.core.errors import Forbidden, InvalidTransition
from askonce.kb import actions, queries
from askonce.kb.markdown import render_markdown
from askonce.kb.models import Article, ArticleStatus, Category, DocumentationTask, Revision
from askonce.kb.schemas import (
    ArticleDetailOut,
    ArticleIn,
    ArticleOut,
    ArticleUpdate,
    CategoryIn,
    CategoryOut,
    DiffLineOut,
    PreviewIn,
    PreviewOut,
    RevisionDetailOut,
    RevisionOut,
    TaskOut,
    VoteIn,
    VoteOut,
)

router = Router(tags=["knowledge base"])


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _require_staff(user: User) -> None:
    if not queries.is_staff_reader(user):
        raise Forbidden("Only staff may do this.")


def _detail(user: User, article: Article) -> Article:
    article.rendered_html = queries.article_html(article)  # type: ignore[attr-defined]
    article.visible_related = [  # type: ignore[attr-defined]
        other.slug for other in queries.related_articles(user, article)
    ]
    return article


@router.get("/articles", response=list[ArticleOut], summary="List articles")
@paginate(LimitOffsetPagination)
def list_articles(
    request: HttpRequest,
    category: str | None = None,
    status: str | None = None,
    owner: str | None = None,
    stale: bool | None = None,
) -> list[Article]:
    articles = queries.visible_articles(_user(request)).order_by("title")
    if category:
        articles = articles.filter(category__slug=category)
    if status:
        articles = articles.filter(status=status)
    if owner:
        found = queries.owner_from_text(owner)
        articles = articles.filter(owner_user=found.user, owner_team=found.team)
    if stale is not None:
        due = Q(status=ArticleStatus.PUBLISHED, review_due_at__lte=timezone.now())
        articles = articles.filter(due) if stale else articles.exclude(due)
    return articles  # type: ignore[return-value]


@router.post("/articles", response={201: ArticleDetailOut}, summary="Write an article")
def create_article(request: HttpRequest, payload: ArticleIn) -> Status:
    user = _user(request)
    _require_staff(user)
    article = actions.do_create_article(
        actor=user,
        title=payload.title,
        body=payload.body,
        category=queries.category_by_slug(payload.category),
        owner=queries.owner_from_text(payload.owner or ""),
        slug=payload.slug or "",
        internal=payload.internal,
        publish=payload.status == "published",
        note=payload.note or "Created",
    )
    if payload.related:
        article, _ = actions.do_update_article(
            article=article,
            actor=user,
            changes=actions.ArticleChanges(related=payload.related),
        )
    return Status(201, _detail(user, article))


@router.get("/articles/{slug}", response=ArticleDetailOut, summary="Read an article")
def get_article(request: HttpRequest, slug: str) -> Article:
    user = _user(request)
    return _detail(user, queries.access_article(user, slug))


@router.put("/articles/{slug}", response=ArticleDetailOut, summary="Edit, publish or archive")
def update_article(request: HttpRequest, slug: str, payload: ArticleUpdate) -> Article:
    user = _user(request)
    article = queries.access_article_for_edit(user, slug)
    article, _ = actions.do_update_article(
        article=article,
        actor=user,
        changes=actions.ArticleChanges(
            title=payload.title,
            body=payload.body,
            category=queries.category_by_slug(payload.category) if payload.category else None,
            owner=queries.owner_from_text(payload.owner) if payload.owner is not None else None,
            internal=payload.internal,
            related=payload.related,
        ),
        note=payload.note or "",
    )
    if payload.status == ArticleStatus.PUBLISHED:
        article = actions.do_publish_article(article=article, actor=user)
    elif payload.status == ArticleStatus.ARCHIVED and article.status != ArticleStatus.ARCHIVED:
        article = actions.do_archive_article(article=article, actor=user)
    elif payload.status == ArticleStatus.DRAFT and article.status != ArticleStatus.DRAFT:
        raise InvalidTransition(
            action="return to draft",
            current=article.status,
            allowed=["archive"] if article.status == ArticleStatus.PUBLISHED else ["publish"],
            subject=f"article '{article.slug}'",
        )
    return _detail(user, queries.access_article(user, article.slug))


@router.post("/articles/{slug}/reviewed", response=ArticleOut, summary="Mark reviewed")
def mark_reviewed(request: HttpRequest, slug: str) -> Article:
    user = _user(request)
    return actions.do_mark_reviewed(article=queries.access_article_for_edit(user, slug), actor=user)


@router.post("/articles/{slug}/votes", response=VoteOut, summary="Was this helpful?")
def vote(request: HttpRequest, slug: str, payload: VoteIn) -> dict[str, int]:
    user = _user(request)
    article = queries.access_article(user, slug)
    actions.do_vote(
        article=article,
        voter_key=f"user:{user.pk}",
        user=user,
        helpful=payload.helpful,
        comment=payload.comment,
    )
    article.refresh_from_db()
    return {"helpful": article.helpful_count, "not_helpful": article.not_helpful_count}


@router.get("/articles/{slug}/revisions", response=list[RevisionOut], summary="Revisions")
def list_revisions(request: HttpRequest, slug: str) -> list[Revision]:
    user = _user(request)
    _require_staff(user)
    return queries.revisions_of(queries.access_article(user, slug))


@router.get(
    "/articles/{slug}/revisions/{number}", response=RevisionDetailOut, summary="One revision"
)
def get_revision(request: HttpRequest, slug: str, number: int) -> Revision:
    user = _user(request)
    _require_staff(user)
    return queries.revision(queries.access_article(user, slug), number)


@router.get("/articles/{slug}/diff", response=list[DiffLineOut], summary="Diff of two revisions")
def diff(
    request: HttpRequest,
    slug: str,
    old: int = Query(..., alias="from"),
    new: int = Query(..., alias="to"),
) -> list[queries.DiffLine]:
    user = _user(request)
    _require_staff(user)
    return queries.revision_diff(queries.access_article(user, slug), old, new)


@router.post(
    "/articles/{slug}/revisions/{number}/restore",
    response=ArticleDetailOut,
    summary="Restore a revision",
)
def restore_revision(request: HttpRequest, slug: str, number: int) -> Article:
    user = _user(request)
    article = queries.access_article_for_edit(user, slug)
    return _detail(user, actions.do_restore_revision(article=article, number=number, actor=user))


@router.post(
    "/kb/preview", response=PreviewOut, summary="Render Markdown as the article page would"
)
def preview(request: HttpRequest, payload: PreviewIn) -> dict[str, str]:
    _require_staff(_user(request))
    return {"html": render_markdown(payload.body[: actions.MAX_ARTICLE_CHARS])}


@router.get("/categories", response=list[CategoryOut], summary="Categories")
def list_categories(request: HttpRequest) -> list[Category]:
    return queries.all_categories()


@router.post("/categories", response={201: CategoryOut}, summary="Create or update a category")
def create_category(request: HttpRequest, payload: CategoryIn) -> Status:
    user = _user(request)
    _require_staff(user)
    category = actions.do_create_category(
        slug=payload.slug,
        name=payload.name,
        owner=queries.owner_from_text(payload.owner or ""),
        description=payload.description,
        review_interval_days=payload.review_interval_days,
    )
    return Status(201, category)


@router.get("/documentation-tasks", response=list[TaskOut], summary="Documentation tasks")
def list_tasks(request: HttpRequest, mine: bool = False) -> list[DocumentationTask]:
    user = _user(request)
    _require_staff(user)
    return queries.open_tasks_for(user) if mine else queries.open_tasks()
