"""Reads of the knowledge base and who may see or change what.

Customers (and anonymous help-center readers) see published, public articles only; staff see
everything; only an article's owner, a member of its owning team or an admin edits it.
"""

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import nh3
from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from askonce.accounts.models import User
from askonce.accounts.queries import user_by_email
from askonce.core.errors import Forbidden, InvalidInput, NotFound
from askonce.kb.markdown import RENDERER_VERSION, render_markdown
from askonce.kb.models import (
    Article,
    ArticleStatus,
    AttemptOutcome,
    Category,
    DocumentationTask,
    Revision,
    SelfServiceAttempt,
    TaskStatus,
    Vote,
)
from askonce.search.queries import Audience, search_documents
from askonce.teams.models import Team
from askonce.teams.queries import team_ids_of


def is_staff_reader(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff_member)


def visible_articles(user: User | None) -> QuerySet[Article]:
    articles = Article.objects.select_related("category", "owner_user", "owner_team")
    if is_staff_reader(user):
        return articles
    return articles.filter(status=ArticleStatus.PUBLISHED, internal=False)


def access_article(user: User | None, slug: str) -> Article:
    """The article if this reader may see it; otherwise NotFound (no hint that it exists)."""
    article = visible_articles(user).filter(slug=slug).first()
    if article is None:
        raise NotFound(f"No article '{slug}'.")
    return article


def successor_of(slug: str) -> Article | None:
    """The published article a merged article's readers are sent to, if it was merged.
    Merging re-points earlier merges, so one hop is the rule; a few more are tolerated."""
    article = Article.objects.filter(slug=slug).only("superseded_by_id").first()
    for _ in range(5):
        if article is None or article.superseded_by_id is None:
            return None
        article = Article.objects.filter(pk=article.superseded_by_id).first()
        if article is not None and article.status == ArticleStatus.PUBLISHED:
            return None if article.internal else article
    return None


def can_edit_article(user: User | None, article: Article) -> bool:
    if not is_staff_reader(user):
        return False
    assert user is not None
    if user.is_superuser:
        return True
    if article.owner_user_id is None and article.owner_team_id is None:
        # An unowned draft is anyone's to finish (it cannot be published until it has an owner).
        return True
    if article.owner_user_id == user.pk:
        return True
    return article.owner_team_id is not None and article.owner_team_id in team_ids_of(user)


def access_article_for_edit(user: User, slug: str) -> Article:
    article = access_article(user, slug)
    if not can_edit_article(user, article):
        raise Forbidden(
            f"Only the owner of '{slug}' ({article.owner_label or 'nobody'}), "
            "members of the owning team or an admin may change it."
        )
    return article


def article_for_reference(reference: str) -> Article:
    """An article named by slug, id or help-center address, for 'answered by this article'."""
    text = reference.strip().rstrip("/")
    slug = text.rsplit("/", 1)[-1] if "/" in text else text
    article = Article.objects.filter(slug=slug).first()
    if article is None and slug.isdigit():
        article = Article.objects.filter(pk=int(slug)).first()
    if article is None:
        raise InvalidInput(f"No article '{reference}': link an existing article by its slug.")
    if article.status != ArticleStatus.PUBLISHED:
        raise InvalidInput(
            f"Article '{article.slug}' is {article.status}; only a published article can be linked."
        )
    return article


def category_by_slug(slug: str) -> Category:
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        known = ", ".join(Category.objects.values_list("slug", flat=True)) or "none yet"
        raise InvalidInput(f"Unknown category '{slug}'. Known categories: {known}.")
    return category


def all_categories() -> list[Category]:
    return list(Category.objects.select_related("owner_user", "owner_team"))


@dataclass(frozen=True)
class Owner:
    user: User | None = None
    team: Team | None = None

    @property
    def label(self) -> str:
        """The same form as Article.owner_label: an email, 'team:<slug>', or ''."""
        if self.user is not None:
            return self.user.email
        return f"team:{self.team.slug}" if self.team is not None else ""


def owner_from_text(text: str) -> Owner:
    """'alice@example.com' is a staff user; 'team:ops' (or 'ops') is a team."""
    value = text.strip()
    if not value:
        return Owner()
    if "@" in value:
        user = user_by_email(value)
        if user is None or not user.is_staff_member:
            raise InvalidInput(f"Owner '{value}' is not a staff user.")
        return Owner(user=user)
    slug = value.removeprefix("team:")
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        known = ", ".join(Team.objects.values_list("slug", flat=True))
        raise InvalidInput(f"Owner '{value}' is neither a staff email nor a team ({known}).")
    return Owner(team=team)


def article_html(article: Article) -> str:
    """The sanitized HTML of the current revision, rendered once per revision and kept."""
    revision = Revision.objects.filter(article=article, number=article.revision_number).first()
    if revision is None:
        return render_markdown(article.body)
    if revision.renderer_version != RENDERER_VERSION or not revision.body_html:
        revision.body_html = render_markdown(revision.body)
        revision.renderer_version = RENDERER_VERSION
        revision.save(update_fields=["body_html", "renderer_version"])
    return revision.body_html


def revisions_of(article: Article) -> list[Revision]:
    return list(article.revisions.select_related("author").order_by("-number"))


def revision(article: Article, number: int) -> Revision:
    found = article.revisions.filter(number=number).first()
    if found is None:
        raise NotFound(f"Article '{article.slug}' has no revision {number}.")
    return found


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "context" or "hunk"
    text: str


def revision_diff(article: Article, old: int, new: int) -> list[DiffLine]:
    """A unified diff of title and body between two revisions, line by line."""
    before, after = revision(article, old), revision(article, new)
    lines = difflib.unified_diff(
        [f"# {before.title}", "", *before.body.splitlines()],
        [f"# {after.title}", "", *after.body.splitlines()],
        fromfile=f"revision {old}",
        tofile=f"revision {new}",
        lineterm="",
    )
    result = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "remove", "@": "hunk"}.get(line[:1], "context")
        result.append(DiffLine(kind=kind, text=line))
    return result


def owned_by(user: User) -> Q:
    return Q(owner_user=user) | Q(owner_team_id__in=team_ids_of(user))


def stale_articles_for(user: User, *, now: datetime | None = None) -> list[Article]:
    now = now or timezone.now()
    return list(
        Article.objects.filter(owned_by(user))
        .filter(status=ArticleStatus.PUBLISHED, review_due_at__lte=now)
        .select_related("category")
        .order_by("review_due_at")
    )


def articles_owned_by(user: User) -> list[Article]:
    return list(
        Article.objects.filter(owned_by(user)).select_related("category").order_by("-updated_at")
    )


def recent_votes_for(user: User, *, limit: int = 20) -> list[Vote]:
    return list(
        Vote.objects.filter(article__in=Article.objects.filter(owned_by(user)))
        .select_related("article")
        .order_by("-created_at")[:limit]
    )


def open_tasks_for(user: User) -> list[DocumentationTask]:
    return list(
        DocumentationTask.objects.filter(status=TaskStatus.OPEN)
        .filter(Q(assignee_user=user) | Q(assignee_team_id__in=team_ids_of(user)))
        .select_related("category", "article")
        .order_by("created_at")
    )


def open_tasks() -> list[DocumentationTask]:
    return list(
        DocumentationTask.objects.filter(status=TaskStatus.OPEN)
        .select_related("category", "article", "assignee_user", "assignee_team")
        .order_by("created_at")
    )


def task_by_id(task_id: int) -> DocumentationTask:
    task = DocumentationTask.objects.filter(pk=task_id).first()
    if task is None:
        raise NotFound(f"No documentation task #{task_id}.")
    return task


def tasks_for_ticket(ticket_id: int) -> list[DocumentationTask]:
    return list(DocumentationTask.objects.filter(ticket_id=ticket_id).select_related("article"))


def articles_to_link(user: User, *, limit: int = 500) -> list[Article]:
    """Published articles an agent may link when solving, most read first."""
    return list(
        visible_articles(user)
        .select_related(None)
        .filter(status=ArticleStatus.PUBLISHED)
        .only("slug", "title")
        .order_by("-view_count", "title")[:limit]
    )


def popular_articles(user: User | None, *, limit: int = 8) -> list[Article]:
    return list(
        visible_articles(user)
        .filter(status=ArticleStatus.PUBLISHED)
        .order_by("-view_count")[:limit]
    )


def related_articles(user: User | None, article: Article) -> list[Article]:
    return list(visible_articles(user).filter(related=article).order_by("title")[:6])


def published_articles(user: User | None) -> QuerySet[Article]:
    """What the help center lists: published articles this reader may open (staff: internal too)."""
    return visible_articles(user).filter(status=ArticleStatus.PUBLISHED)


def categories_with_counts(user: User | None) -> list[Category]:
    """Every category, each with `article_count`: its published articles this reader may open."""
    published = Q(articles__status=ArticleStatus.PUBLISHED)
    if not is_staff_reader(user):
        published &= Q(articles__internal=False)
    return list(
        Category.objects.select_related("owner_user", "owner_team").annotate(
            article_count=Count("articles", filter=published)
        )
    )


def open_attempt_for(user: User | None, token: str) -> SelfServiceAttempt | None:
    """The reader's own ask-box visit that is still undecided, if the token names one.

    A token in a shared link must not let someone else's reading count for this visit."""
    if not token or user is None or not user.is_authenticated:
        return None
    return SelfServiceAttempt.objects.filter(
        token=token[:40], user=user, outcome=AttemptOutcome.OPEN
    ).first()


def suggested_articles(user: User | None, text: str, *, limit: int = 5) -> list[dict[str, object]]:
    """Published articles matching a question's words, that this reader may open."""
    audience = Audience(staff=True) if is_staff_reader(user) else Audience.public()
    results = search_documents(text, audience=audience, kinds=["article"], limit=limit)
    return [
        {
            "id": hit.ref_id,
            "slug": hit.url.rstrip("/").rsplit("/", 1)[-1],
            "title": hit.title,
            "url": hit.url,
            # Escaped by the engine; cleaned again so nothing but <mark> can reach a page.
            "snippet_html": nh3.clean(hit.snippet_html, tags={"mark"}, attributes={}),
            "score": round(hit.score, 4),
        }
        for hit in results.hits
    ]


def category_for_question(text: str) -> Category | None:
    """The category of the article that best matches a question's words (None: no match)."""
    hits = search_documents(text, audience=Audience(staff=True), kinds=["article"], limit=1).hits
    if not hits:
        return None
    article = Article.objects.select_related("category").filter(pk=hits[0].ref_id).first()
    return article.category if article is not None else None


def default_category() -> Category | None:
    """Where documentation work goes when nothing better matches: ASKONCE_KB_DEFAULT_CATEGORY,
    else the first category with an owner."""
    slug = getattr(settings, "KB_DEFAULT_CATEGORY", "")
    if slug:
        found = Category.objects.filter(slug=slug).first()
        if found is not None:
            return found
    return Category.objects.exclude(owner_user=None, owner_team=None).order_by("position").first()


def article_slug(article_id: int) -> str:
    return Article.objects.filter(pk=article_id).values_list("slug", flat=True).first() or ""


def self_service_by_day(since: datetime) -> list[tuple[date, int, int]]:
    """(UTC day, ask-box visits deflected, visits that filed a ticket anyway), by the day the
    visit was decided."""
    rows = (
        SelfServiceAttempt.objects.filter(decided_at__gte=since)
        .annotate(day=TruncDate("decided_at", tzinfo=UTC))
        .values("day")
        .annotate(
            deflected=Count("id", filter=Q(outcome=AttemptOutcome.DEFLECTED)),
            filed=Count("id", filter=Q(outcome=AttemptOutcome.FILED)),
        )
        .order_by("day")
    )
    return [(row["day"], row["deflected"], row["filed"]) for row in rows]


def internal_slugs(slugs: list[str]) -> set[str]:
    """Which of these articles are internal (staff only: never sent to a customer)."""
    return set(Article.objects.filter(slug__in=slugs, internal=True).values_list("slug", flat=True))
