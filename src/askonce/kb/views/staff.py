"""The staff side of the knowledge base under /console/kb/: the owner dashboard, the editor
with live preview, revisions and diffs, categories and documentation tasks.

A refused write becomes a flash message on the same page, with everything typed kept.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from askonce.core.errors import DomainError, InvalidInput, NotFound
from askonce.kb import actions, queries
from askonce.kb.markdown import render_markdown
from askonce.kb.models import Article, ArticleStatus, Category
from askonce.kb.views.common import (
    article_or_404,
    back_to,
    editable_article,
    signed_in,
    staff_required,
    whole_number,
)


@staff_required
def kb_dashboard(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    return render(
        request,
        "kb/dashboard.html",
        {
            "tasks": queries.open_tasks_for(me),
            "stale": queries.stale_articles_for(me),
            "owned": queries.articles_owned_by(me),
            "comments": [vote for vote in queries.recent_votes_for(me, limit=30) if vote.comment][
                :10
            ],
        },
    )


@staff_required
def kb_articles(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    category = request.GET.get("category", "")
    articles = queries.visible_articles(signed_in(request)).order_by("title")
    if status in ArticleStatus.values:
        articles = articles.filter(status=status)
    elif status == "stale":
        articles = articles.filter(
            status=ArticleStatus.PUBLISHED, review_due_at__lte=timezone.now()
        )
    if category:
        articles = articles.filter(category__slug=category)
    page = Paginator(articles, 50).get_page(request.GET.get("page"))
    filters = QueryDict(mutable=True)
    filters.update(
        {key: value for key, value in (("status", status), ("category", category)) if value}
    )
    return render(
        request,
        "kb/article_list.html",
        {
            "page": page,
            "status": status,
            "category": category,
            "statuses": ArticleStatus.choices,
            "categories": queries.all_categories(),
            "filters": filters.urlencode(),
        },
    )


@dataclass
class ArticleForm:
    """What the editor shows and posts back; kept as typed when a save is refused."""

    title: str = ""
    slug: str = ""
    category: str = ""
    owner: str = ""
    internal: bool = False
    body: str = ""
    note: str = ""
    related: str = ""  # slugs, comma-separated

    @classmethod
    def posted(cls, form: QueryDict) -> "ArticleForm":
        return cls(
            title=form.get("title", ""),
            slug=form.get("slug", ""),
            category=form.get("category", ""),
            owner=form.get("owner", ""),
            internal=form.get("internal") == "on",
            body=form.get("body", ""),
            note=form.get("note", ""),
            related=form.get("related", ""),
        )

    @classmethod
    def of(cls, article: Article) -> "ArticleForm":
        return cls(
            title=article.title,
            slug=article.slug,
            category=article.category.slug,
            owner=article.owner_label,
            internal=article.internal,
            body=article.body,
            related=", ".join(sorted(article.related.values_list("slug", flat=True))),
        )


def _editor(request: HttpRequest, *, values: ArticleForm, article: Article | None) -> HttpResponse:
    return render(
        request,
        "kb/editor.html",
        {
            "values": values,
            "article": article,
            "categories": queries.all_categories(),
            "preview_html": render_markdown(values.body),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def kb_article_new(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    values = ArticleForm(owner=me.email, category=request.GET.get("category", ""))
    if request.method == "POST":
        values = ArticleForm.posted(request.POST)
        publish = request.POST.get("action") == "publish"
        try:
            article = actions.do_create_article(
                actor=me,
                title=values.title,
                body=values.body,
                category=queries.category_by_slug(values.category),
                owner=queries.owner_from_text(values.owner),
                slug=values.slug,
                internal=values.internal,
                publish=publish,
                note=values.note or "Created",
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Published." if publish else "Draft saved as revision 1.")
            return redirect("kb-edit", slug=article.slug)
    return _editor(request, values=values, article=None)


@staff_required
@require_http_methods(["GET", "POST"])
def kb_article_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Save makes a new revision when title or body changed; Publish and Archive save first."""
    me = signed_in(request)
    article = editable_article(request, slug)
    if isinstance(article, HttpResponse):
        return article
    values = ArticleForm.of(article)
    if request.method == "POST":
        values = ArticleForm.posted(request.POST)
        values.slug = article.slug
        action = request.POST.get("action", "save")
        before = article.revision_number
        try:
            article, _ = actions.do_update_article(
                article=article,
                actor=me,
                changes=actions.ArticleChanges(
                    title=values.title,
                    body=values.body,
                    category=queries.category_by_slug(values.category),
                    owner=queries.owner_from_text(values.owner),
                    internal=values.internal,
                    related=[slug for slug in values.related.split(",") if slug.strip()],
                ),
                note=values.note,
            )
            if action == "publish":
                article = actions.do_publish_article(article=article, actor=me)
            elif action == "archive":
                article = actions.do_archive_article(article=article, actor=me)
        except DomainError as error:
            messages.error(request, error.message)
            article.refresh_from_db()
        else:
            done = {"publish": "Published: customers can read it now.", "archive": "Archived."}
            saved = (
                f"Saved as revision {article.revision_number}."
                if article.revision_number != before
                else ("" if action in done else "Saved: nothing had changed.")
            )
            messages.success(request, f"{saved} {done.get(action, '')}".strip())
            return redirect("kb-edit", slug=article.slug)
    return _editor(request, values=values, article=article)


@staff_required
@require_POST
def kb_mark_reviewed(request: HttpRequest, slug: str) -> HttpResponse:
    article = editable_article(request, slug)
    if isinstance(article, HttpResponse):
        return article
    article = actions.do_mark_reviewed(article=article, actor=signed_in(request))
    assert article.review_due_at is not None
    due = date_format(timezone.localtime(article.review_due_at), "M j, Y")
    messages.success(request, f"“{article.title}” reviewed; next review by {due}.")
    return redirect(back_to(request, reverse("kb-dashboard")))


@staff_required
def kb_revisions(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_or_404(signed_in(request), slug)
    return render(
        request,
        "kb/revisions.html",
        {
            "article": article,
            "revisions": queries.revisions_of(article),
            "can_edit": queries.can_edit_article(signed_in(request), article),
        },
    )


@staff_required
@require_POST
def kb_restore_revision(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    article = editable_article(request, slug)
    if isinstance(article, HttpResponse):
        return article
    before = article.revision_number
    try:
        article = actions.do_restore_revision(
            article=article, number=number, actor=signed_in(request)
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if article.revision_number == before:
            messages.success(request, f"Revision {number} is the current text already.")
        else:
            messages.success(
                request, f"Revision {number} restored as revision {article.revision_number}."
            )
    return redirect("kb-revisions", slug=article.slug)


@staff_required
def kb_diff(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_or_404(signed_in(request), slug)
    new = whole_number(request.GET.get("to"), default=article.revision_number)
    old = whole_number(request.GET.get("from"), default=new - 1)
    context: dict[str, Any] = {"article": article, "old": old, "new": new, "lines": None}
    if old >= 1:
        try:
            context.update(
                lines=queries.revision_diff(article, old, new),
                old_revision=queries.revision(article, old),
                new_revision=queries.revision(article, new),
            )
        except NotFound as error:
            raise Http404(error.message) from error
    return render(request, "kb/diff.html", context)


# --- staff: categories and documentation tasks ------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def kb_categories(request: HttpRequest) -> HttpResponse:
    categories = queries.categories_with_counts(signed_in(request))
    editing: Category | None = next(
        (c for c in categories if c.slug == request.GET.get("edit")), None
    )
    values = {
        "slug": editing.slug if editing else "",
        "name": editing.name if editing else "",
        "owner": _owner_label(editing) if editing else "",
        "review_interval_days": str(editing.review_interval_days if editing else 180),
        "position": str(editing.position if editing else 0),
        "description": editing.description if editing else "",
    }
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            category = actions.do_create_category(
                slug=values["slug"],
                name=values["name"],
                owner=queries.owner_from_text(values["owner"]),
                description=values["description"],
                review_interval_days=_days(values["review_interval_days"]),
                position=max(0, whole_number(values["position"], default=0)),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Category “{category.name}” saved.")
            return redirect("kb-categories")
    return render(
        request,
        "kb/categories.html",
        {"categories": categories, "values": values, "editing": editing},
    )


def _owner_label(category: Category) -> str:
    if category.owner_user is not None:
        return category.owner_user.email
    if category.owner_team is not None:
        return f"team:{category.owner_team.slug}"
    return ""


def _days(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            f"Review interval must be a whole number of days, not {text!r}."
        ) from None


@staff_required
def kb_tasks(request: HttpRequest) -> HttpResponse:
    return render(request, "kb/tasks.html", {"tasks": queries.open_tasks()})


@staff_required
@require_POST
def kb_task_write(request: HttpRequest, task_id: int) -> HttpResponse:
    """'Write article': a draft for the task (or the one already started), opened in the editor."""
    try:
        task = queries.task_by_id(task_id)
        article = actions.do_start_article_for_task(task=task, actor=signed_in(request))
    except NotFound as error:
        raise Http404(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(back_to(request, reverse("kb-dashboard")))
    return redirect("kb-edit", slug=article.slug)


@staff_required
@require_POST
def kb_task_cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        task = queries.task_by_id(task_id)
        actions.do_cancel_documentation_task(
            task=task, actor=signed_in(request), reason=request.POST.get("reason", "")
        )
    except NotFound as error:
        raise Http404(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Task #{task.pk} cancelled.")
    return redirect(back_to(request, reverse("kb-tasks")))
