"""Every write to the knowledge base: articles and their revisions, publishing, reviews, votes,
documentation tasks and self-service attempts. Each action records an event."""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from askonce.accounts.models import User
from askonce.core.errors import Forbidden, InvalidInput, InvalidTransition
from askonce.core.events import record_event
from askonce.core.models import Event
from askonce.core.text import clean_line
from askonce.kb.markdown import RENDERER_VERSION, markdown_to_text, render_markdown
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
from askonce.kb.queries import Owner, can_edit_article, default_category, is_staff_reader
from askonce.search.actions import do_index_document, do_remove_document
from askonce.teams.models import Team

logger = logging.getLogger(__name__)

# Articles are long-form; the limit keeps one paste from filling the database.
MAX_ARTICLE_CHARS = 200_000
# An ask-box visit with no activity for this long is decided: deflected if an article was read.
ATTEMPT_IDLE_MINUTES = 30


def _article_event(article: Article, verb: str, actor: User | None, **fields: Any) -> None:
    record_event(verb=verb, subject_type="article", subject_id=article.pk, actor=actor, **fields)


def _clean_body(body: str) -> str:
    text = body.replace("\r\n", "\n").replace("\x00", "")
    if len(text) > MAX_ARTICLE_CHARS:
        raise InvalidInput(
            f"body is {len(text)} characters long; an article may have {MAX_ARTICLE_CHARS}."
        )
    return text


def _clean_slug(slug: str, *, title: str) -> str:
    candidate = slugify(slug or title)[:120].strip("-")
    if not candidate:
        raise InvalidInput(
            f"Cannot make a slug from {slug or title!r}: use letters, digits or dashes."
        )
    return candidate


def _require_staff(actor: User, what: str) -> None:
    if not is_staff_reader(actor):
        raise Forbidden(f"Only staff may {what}.")


# --- categories -------------------------------------------------------------------------------


def do_create_category(
    *,
    slug: str,
    name: str,
    owner: Owner | None = None,
    description: str = "",
    review_interval_days: int = 180,
    position: int = 0,
) -> Category:
    if review_interval_days < 1:
        raise InvalidInput("review_interval_days must be at least 1.")
    owner = owner or Owner()
    category, _ = Category.objects.update_or_create(
        slug=_clean_slug(slug, title=name),
        defaults={
            "name": clean_line(name, field="name", max_length=120),
            "description": description.strip(),
            "owner_user": owner.user,
            "owner_team": owner.team,
            "review_interval_days": review_interval_days,
            "position": position,
        },
    )
    return category


# --- articles ---------------------------------------------------------------------------------


def _new_revision(article: Article, *, actor: User | None, note: str) -> Revision:
    article.revision_number += 1
    return Revision.objects.create(
        article=article,
        number=article.revision_number,
        title=article.title,
        body=article.body,
        author=actor if getattr(actor, "pk", None) else None,
        note=note[:300],
        body_html=render_markdown(article.body),
        renderer_version=RENDERER_VERSION,
    )


def do_create_article(
    *,
    actor: User | None,
    title: str,
    body: str,
    category: Category,
    owner: Owner | None = None,
    slug: str = "",
    internal: bool = False,
    publish: bool = False,
    note: str = "Created",
) -> Article:
    """A new article (a draft unless `publish`); revision 1 holds its first text."""
    if actor is not None:
        _require_staff(actor, "write articles")
    title = clean_line(title, field="title", max_length=200)
    slug = _clean_slug(slug, title=title)
    owner = owner or Owner()
    try:
        with transaction.atomic():
            article = Article.objects.create(
                slug=slug,
                title=title,
                body=_clean_body(body),
                category=category,
                owner_user=owner.user,
                owner_team=owner.team,
                internal=internal,
            )
            _new_revision(article, actor=actor, note=note)
            article.save(update_fields=["revision_number"])
            _article_event(article, "article.created", actor, to_state=article.status)
            if publish:
                article = do_publish_article(article=article, actor=actor)
    except IntegrityError:
        if Article.objects.filter(slug=slug).exists():
            raise InvalidInput(f"An article with slug '{slug}' exists already.") from None
        raise
    return article


@dataclass(frozen=True)
class ArticleChanges:
    """What an edit changes; None leaves a field as it is."""

    title: str | None = None
    body: str | None = None
    category: Category | None = None
    owner: Owner | None = None
    internal: bool | None = None
    related: list[str] | None = None  # slugs of related articles


def _related_articles(article: Article, slugs: list[str]) -> list[Article]:
    wanted = [slug.strip() for slug in slugs if slug.strip() and slug.strip() != article.slug]
    found = {other.slug: other for other in Article.objects.filter(slug__in=wanted)}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise InvalidInput(f"No article with slug {', '.join(repr(s) for s in missing)} to relate.")
    return list(found.values())


def do_update_article(
    *, article: Article, actor: User | None, changes: ArticleChanges, note: str = ""
) -> tuple[Article, bool]:
    """Apply an edit. A new title or body makes a new revision. Returns (article, changed)."""
    if actor is not None and not can_edit_article(actor, article):
        raise Forbidden(
            f"Only the owner of '{article.slug}' ({article.owner_label or 'nobody'}), "
            "members of the owning team or an admin may change it."
        )
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        changed: list[str] = []
        if changes.title is not None:
            title = clean_line(changes.title, field="title", max_length=200)
            if title != article.title:
                article.title = title
                changed.append("title")
        if changes.body is not None:
            body = _clean_body(changes.body)
            if body != article.body:
                article.body = body
                changed.append("body")
        if changes.category is not None and changes.category.pk != article.category_id:
            article.category = changes.category
            changed.append("category")
        if changes.owner is not None:
            owner = changes.owner
            if (owner.user and owner.user.pk) != article.owner_user_id or (
                owner.team and owner.team.pk
            ) != article.owner_team_id:
                if article.status == ArticleStatus.PUBLISHED and not (owner.user or owner.team):
                    raise InvalidInput("A published article must keep an owner.")
                article.owner_user = owner.user
                article.owner_team = owner.team
                changed.append("owner")
        if changes.internal is not None and changes.internal != article.internal:
            article.internal = changes.internal
            changed.append("internal")
        if changes.related is not None:
            related = _related_articles(article, changes.related)
            if {other.pk for other in related} != set(article.related.values_list("pk", flat=True)):
                article.related.set(related)
                changed.append("related")
        if not changed:
            return article, False
        if "title" in changed or "body" in changed:
            _new_revision(article, actor=actor, note=note or "Edited")
            changed.append("revision_number")
        article.updated_at = timezone.now()
        columns = {"owner": ["owner_user", "owner_team"], "related": []}
        article.save(
            update_fields=[
                *(column for field in changed for column in columns.get(field, [field])),
                "updated_at",
            ]
        )
        _article_event(article, "article.updated", actor, note=note, data={"changed": changed})
        _reindex(article.pk)
    return article, True


def _review_due(article: Article, since: datetime) -> datetime:
    return since + timedelta(days=article.category.review_interval_days)


def do_publish_article(
    *, article: Article, actor: User | None, task: DocumentationTask | None = None
) -> Article:
    """Publish: needs an owner. Closes the documentation tasks this article was written for."""
    if actor is not None and not can_edit_article(actor, article):
        raise Forbidden(f"Only the owner of '{article.slug}' or an admin may publish it.")
    if not (article.owner_user_id or article.owner_team_id):
        raise InvalidInput(
            f"Article '{article.slug}' has no owner: give it an owner (a staff user or a team) "
            "before publishing."
        )
    with transaction.atomic():
        article = Article.objects.select_for_update().select_related("category").get(pk=article.pk)
        if task is not None:
            task.article = article
            task.save(update_fields=["article"])
        if article.status != ArticleStatus.PUBLISHED:
            now = timezone.now()
            previous = article.status
            article.status = ArticleStatus.PUBLISHED
            article.published_at = article.published_at or now
            article.reviewed_at = now
            article.review_due_at = _review_due(article, now)
            article.updated_at = now
            article.save(
                update_fields=[
                    "status",
                    "published_at",
                    "reviewed_at",
                    "review_due_at",
                    "updated_at",
                ]
            )
            _article_event(
                article, "article.published", actor, from_state=previous, to_state="published"
            )
        for open_task in DocumentationTask.objects.select_for_update().filter(
            article=article, status=TaskStatus.OPEN
        ):
            _close_task(open_task, article=article, actor=actor)
        _reindex(article.pk)
    return article


def do_archive_article(*, article: Article, actor: User | None) -> Article:
    if actor is not None and not can_edit_article(actor, article):
        raise Forbidden(f"Only the owner of '{article.slug}' or an admin may archive it.")
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        if article.status == ArticleStatus.ARCHIVED:
            raise InvalidTransition(
                action="archive",
                current=article.status,
                allowed=["publish"],
                subject=f"article '{article.slug}'",
            )
        previous = article.status
        article.status = ArticleStatus.ARCHIVED
        article.updated_at = timezone.now()
        article.save(update_fields=["status", "updated_at"])
        _article_event(article, "article.archived", actor, from_state=previous, to_state="archived")
        _reindex(article.pk)
    return article


def do_merge_article(*, article: Article, into: Article, actor: User | None) -> Article:
    """Two articles answered the same question: `article` is archived and superseded by
    `into`, whose help-center page its readers are sent to from now on. Returns `into`."""
    if article.pk == into.pk:
        raise InvalidInput("An article cannot be merged into itself.")
    if actor is not None and not (
        can_edit_article(actor, article) or can_edit_article(actor, into)
    ):
        raise Forbidden(
            f"Only an owner of '{article.slug}' or '{into.slug}' or an admin may merge them."
        )
    if into.status != ArticleStatus.PUBLISHED:
        raise InvalidTransition(
            action="merge into",
            current=into.status,
            allowed=["publish"],
            subject=f"article '{into.slug}'",
        )
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        previous = article.status
        article.status = ArticleStatus.ARCHIVED
        article.superseded_by = into
        article.updated_at = timezone.now()
        article.save(update_fields=["status", "superseded_by", "updated_at"])
        # Whatever pointed at the merged article now points at the one that answers.
        Article.objects.filter(superseded_by=article).update(superseded_by=into)
        into.related.remove(article)
        _article_event(
            article,
            "article.merged",
            actor,
            from_state=previous,
            to_state="archived",
            data={"into": into.slug, "into_id": into.pk},
        )
        _reindex(article.pk)
    return into


def do_restore_revision(*, article: Article, number: int, actor: User) -> Article:
    """Bring an old revision's text back as a new revision (history is never rewritten)."""
    old = article.revisions.filter(number=number).first()
    if old is None:
        raise InvalidInput(f"Article '{article.slug}' has no revision {number}.")
    article, _ = do_update_article(
        article=article,
        actor=actor,
        changes=ArticleChanges(title=old.title, body=old.body),
        note=f"Restored revision {number}",
    )
    return article


def do_mark_reviewed(*, article: Article, actor: User) -> Article:
    """The owner read it again and it is still right: the next review is one interval away."""
    if not can_edit_article(actor, article):
        raise Forbidden(f"Only the owner of '{article.slug}' may mark it reviewed.")
    now = timezone.now()
    article.reviewed_at = now
    article.review_due_at = _review_due(article, now)
    article.save(update_fields=["reviewed_at", "review_due_at"])
    _article_event(article, "article.reviewed", actor)
    return article


def do_set_related(*, article: Article, related: list[Article], actor: User) -> None:
    if not can_edit_article(actor, article):
        raise Forbidden(f"Only the owner of '{article.slug}' may change its related articles.")
    article.related.set([other for other in related if other.pk != article.pk])


def do_record_view(*, article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


def do_vote(
    *, article: Article, voter_key: str, user: User | None, helpful: bool, comment: str = ""
) -> Vote:
    """One vote per reader; voting again changes the vote instead of counting twice."""
    comment = comment.replace("\x00", "").strip()[:2000]
    with transaction.atomic():
        vote = Vote.objects.select_for_update().filter(article=article, voter_key=voter_key).first()
        if vote is None:
            vote = Vote.objects.create(
                article=article,
                voter_key=voter_key[:80],
                user=user if getattr(user, "pk", None) else None,
                helpful=helpful,
                comment=comment,
            )
        else:
            vote.helpful = helpful
            vote.comment = comment or vote.comment
            vote.created_at = timezone.now()
            vote.save(update_fields=["helpful", "comment", "created_at"])
        counts = Vote.objects.filter(article=article)
        Article.objects.filter(pk=article.pk).update(
            helpful_count=counts.filter(helpful=True).count(),
            not_helpful_count=counts.filter(helpful=False).count(),
        )
    return vote


def _reindex(article_id: int) -> None:
    """Put the article in the search index as readers may see it, or take it out.

    The index lives in the same database, so this runs inside the writing transaction: the
    index never shows a change that rolled back."""
    article = Article.objects.select_related("category").filter(pk=article_id).first()
    if article is None or article.status != ArticleStatus.PUBLISHED:
        do_remove_document(kind="article", ref_id=article_id)
        return
    do_index_document(
        kind="article",
        ref_id=article.pk,
        title=article.title,
        body=markdown_to_text(article.body),
        url=f"/help/articles/{article.slug}/",
        visibility="staff" if article.internal else "public",
        category=article.category.name,
        popularity=article.view_count,
    )


def do_reindex_articles() -> int:
    """Rebuild the article part of the search index (after an import or a restore)."""
    count = 0
    for article_id in Article.objects.values_list("pk", flat=True).iterator():
        _reindex(article_id)
        count += 1
    return count


# --- documentation tasks ----------------------------------------------------------------------


def do_open_documentation_task(
    *,
    ticket_id: int | None,
    summary: str,
    details: str = "",
    category: Category | None = None,
    actor: User | None = None,
) -> DocumentationTask:
    """An article to write, assigned to the category owner. One task per ticket."""
    if ticket_id is not None:
        existing = DocumentationTask.objects.filter(ticket_id=ticket_id).first()
        if existing is not None:
            return existing
    category = category or default_category()
    support = Team.objects.filter(slug="support").first()
    assignee_user = category.owner_user if category else None
    assignee_team = (category.owner_team if category else None) or (
        None if assignee_user else support
    )
    try:
        with transaction.atomic():
            task = DocumentationTask.objects.create(
                ticket_id=ticket_id,
                summary=summary[:300] or f"Ticket #{ticket_id}",
                details=details,
                category=category,
                assignee_user=assignee_user,
                assignee_team=assignee_team,
            )
            record_event(
                verb="documentation.task_opened",
                subject_type="documentation_task",
                subject_id=task.pk,
                actor=actor,
                data={"ticket_id": ticket_id, "category": category.slug if category else None},
            )
    except IntegrityError:
        # Delivered twice (subscriber and sweep at once): the other delivery made it.
        return DocumentationTask.objects.get(ticket_id=ticket_id)
    return task


def _close_task(task: DocumentationTask, *, article: Article, actor: User | None) -> None:
    task.status = TaskStatus.DONE
    task.article = article
    task.closed_at = timezone.now()
    task.save(update_fields=["status", "article", "closed_at"])
    # The ticket side subscribes and shows the article on the ticket (no import upward).
    record_event(
        verb="documentation.task_closed",
        subject_type="documentation_task",
        subject_id=task.pk,
        actor=actor,
        data={"ticket_id": task.ticket_id, "article": article.slug, "title": article.title},
    )


def do_start_article_for_task(*, task: DocumentationTask, actor: User) -> Article:
    """'Write the article': a draft owned by the writer, in the task's category, linked to it."""
    _require_staff(actor, "write articles")
    if task.status != TaskStatus.OPEN:
        raise InvalidTransition(
            action="write an article for",
            current=task.status,
            allowed=[],
            subject=f"documentation task #{task.pk}",
        )
    if task.article_id is not None:
        assert task.article is not None
        return task.article
    category = task.category or default_category()
    if category is None:
        raise InvalidInput("Create a category first: every article belongs to one.")
    article = do_start_draft(
        actor=actor,
        title=task.summary,
        body=f"<!-- From documentation task #{task.pk} -->\n\n{task.details}\n",
        category=category,
        slug_hint=task.summary or f"task-{task.pk}",
        note=f"Draft for documentation task #{task.pk}",
    )
    task.article = article
    task.save(update_fields=["article"])
    return article


def do_start_draft(
    *, actor: User, title: str, body: str, category: Category, slug_hint: str, note: str
) -> Article:
    """A draft owned by its writer, for documentation work (a task, a gap): the slug comes from
    the hint, made unique with a number when an article has it already."""
    base = slugify(slug_hint)[:100].strip("-") or "draft"
    slug, number = base, 1
    while Article.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return do_create_article(
        actor=actor,
        title=title[:200],
        body=body,
        category=category,
        owner=Owner(user=actor),
        slug=slug,
        note=note,
    )


def do_cancel_documentation_task(
    *, task: DocumentationTask, actor: User, reason: str
) -> DocumentationTask:
    _require_staff(actor, "cancel documentation tasks")
    reason = clean_line(reason, field="reason", max_length=300)
    task.status = TaskStatus.CANCELLED
    task.closed_at = timezone.now()
    task.save(update_fields=["status", "closed_at"])
    record_event(
        verb="documentation.task_cancelled",
        subject_type="documentation_task",
        subject_id=task.pk,
        actor=actor,
        note=reason,
        data={"ticket_id": task.ticket_id},
    )
    return task


# --- self-service attempts (deflections) ------------------------------------------------------


def do_start_attempt(*, user: User | None, query: str) -> SelfServiceAttempt:
    return SelfServiceAttempt.objects.create(
        token=secrets.token_urlsafe(16),
        user=user if getattr(user, "pk", None) else None,
        organization_id=getattr(user, "organization_id", None),
        query=query.replace("\x00", "").strip()[:500],
    )


def _open_attempt(token: str) -> SelfServiceAttempt | None:
    if not token:
        return None
    return SelfServiceAttempt.objects.filter(token=token[:40], outcome=AttemptOutcome.OPEN).first()


def do_note_attempt_query(*, token: str, query: str) -> None:
    attempt = _open_attempt(token)
    if attempt is not None:
        attempt.query = query.replace("\x00", "").strip()[:500] or attempt.query
        attempt.last_seen_at = timezone.now()
        attempt.save(update_fields=["query", "last_seen_at"])


def do_record_article_read(*, token: str, article: Article) -> None:
    attempt = _open_attempt(token)
    if attempt is not None:
        attempt.articles_read.add(article)
        attempt.last_seen_at = timezone.now()
        attempt.save(update_fields=["last_seen_at"])


def do_record_filed(*, token: str, ticket_id: int) -> None:
    """The customer filed the ticket anyway: not a deflection."""
    attempt = _open_attempt(token)
    if attempt is None:
        return
    attempt.outcome = AttemptOutcome.FILED
    attempt.ticket_id = ticket_id
    attempt.decided_at = timezone.now()
    attempt.save(update_fields=["outcome", "ticket_id", "decided_at"])


def do_decide_idle_attempts(*, now: datetime | None = None) -> int:
    """Ask-box visits idle for ATTEMPT_IDLE_MINUTES: a read article and no ticket is a deflection."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=ATTEMPT_IDLE_MINUTES)
    decided = 0
    idle = SelfServiceAttempt.objects.filter(outcome=AttemptOutcome.OPEN, last_seen_at__lte=cutoff)
    for attempt in idle.iterator():
        with transaction.atomic():
            read = list(attempt.articles_read.values_list("slug", flat=True))
            attempt.outcome = AttemptOutcome.DEFLECTED if read else AttemptOutcome.ABANDONED
            attempt.decided_at = now
            attempt.save(update_fields=["outcome", "decided_at"])
            if read:
                record_event(
                    verb="self_service.deflected",
                    subject_type="self_service_attempt",
                    subject_id=attempt.pk,
                    organization_id=attempt.organization_id,
                    note=attempt.query,
                    data={"articles": read},
                )
        decided += 1
    return decided


# --- reacting to other domains' events --------------------------------------------------------


def do_open_task_for_event(event: Event) -> DocumentationTask:
    """`documentation.needed` on a solved ticket → a task for the owner of its category."""
    data = event.data or {}
    category = None
    if data.get("category"):
        category = Category.objects.filter(slug=data["category"]).first()
    return do_open_documentation_task(
        ticket_id=event.subject_id,
        summary=str(data.get("subject") or f"Ticket #{event.subject_id}"),
        details=event.note,
        category=category,
        actor=event.actor,
    )


def do_open_tasks_for_unhandled_events(*, window_days: int = 14) -> int:
    """Open the tasks whose event subscriber never ran (a crash after commit). Idempotent."""
    since = timezone.now() - timedelta(days=window_days)
    events = list(
        Event.objects.filter(verb="documentation.needed", occurred_at__gte=since).order_by("id")
    )
    handled = set(
        DocumentationTask.objects.filter(
            ticket_id__in=[event.subject_id for event in events]
        ).values_list("ticket_id", flat=True)
    )
    opened = 0
    for event in events:
        if event.subject_id not in handled:
            do_open_task_for_event(event)
            handled.add(event.subject_id)
            opened += 1
    return opened
