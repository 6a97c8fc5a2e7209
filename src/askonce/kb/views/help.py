"""The public help center: home, categories, articles with votes, search, and the JSON
suggestions behind the portal's ask box.

Views stay thin: parse the request, call one query or action, render or redirect.
"""

import math
import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import urlencode

import nh3
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import strip_tags
from django.views.decorators.http import require_POST, require_safe

from askonce.accounts.models import User
from askonce.core.errors import DomainError, InvalidInput
from askonce.kb import actions, queries
from askonce.kb.models import ArticleStatus
from askonce.kb.suggestions import answering_slugs
from askonce.kb.views.common import article_or_404, reader, whole_number
from askonce.search.queries import Audience, SearchHit, search_documents

RESULTS_PER_PAGE = 10
# Deep result pages cost the engine more than they help anyone; nobody reads page 50.
MAX_RESULT_PAGE = 50
# Longer queries are typing accidents or abuse; 200 characters holds any real question.
MAX_QUERY_CHARS = 200
SUGGESTIONS = 5
# The reader's own votes by article id, so the page can show "you said it helped".
VOTES_SESSION_KEY = "kb_votes"

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")
_HEADING = re.compile(r"<h([23]) id=\"([^\"]+)\">(.*?)</h\1>", re.DOTALL)
_PERMALINK = re.compile(r"<a [^>]*>#</a>")


def _clean_query(text: str) -> str:
    """A search query as the engine gets it: no control characters, bounded length."""
    return " ".join(_CONTROL_CHARACTERS.sub(" ", text).split())[:MAX_QUERY_CHARS]


def _marks_only(html: str) -> str:
    """Highlighted text from the search engine, keeping nothing but <mark>.

    The engine already escapes; cleaning again costs microseconds and means a bug there cannot
    become script on a customer's page."""
    return nh3.clean(html, tags={"mark"}, attributes={})


def _local_url(url: str) -> str | None:
    """A result's address if it points into this site (never `javascript:` or elsewhere)."""
    return url if url.startswith("/") and not url.startswith(("//", "/\\")) else None


def _with_ask(url: str, token: str) -> str:
    return f"{url}?{urlencode({'ask': token})}" if token else url


def _audience(user: User | None) -> Audience:
    if queries.is_staff_reader(user):
        return Audience(staff=True, organization_id=None)
    if user is not None:
        return Audience(staff=False, organization_id=user.organization_id)
    return Audience.public()


@dataclass(frozen=True)
class Heading:
    level: int
    anchor: str
    text: str


def _table_of_contents(html: str) -> list[Heading]:
    """Section headings (h2, h3) of rendered, sanitized HTML, for the article's side menu."""
    headings = []
    for level, anchor, inner in _HEADING.findall(html):
        text = unescape(strip_tags(_PERMALINK.sub("", inner))).strip()
        if text:
            headings.append(Heading(level=int(level), anchor=unescape(anchor), text=text))
    return headings


@dataclass(frozen=True)
class Result:
    title: str
    title_html: str
    snippet_html: str
    url: str
    category: str


def _results(hits: list[SearchHit], *, ask: str = "") -> list[Result]:
    results = []
    for hit in hits:
        url = _local_url(hit.url)
        if url is None:
            continue
        results.append(
            Result(
                title=hit.title,
                title_html=_marks_only(hit.title_html),
                snippet_html=_marks_only(hit.snippet_html),
                url=_with_ask(url, ask),
                category=hit.category,
            )
        )
    return results


# --- the public help center -------------------------------------------------------------------


@require_safe
def help_home(request: HttpRequest) -> HttpResponse:
    user = reader(request)
    if request.GET.get("answered"):
        messages.success(request, "Glad that helped. Come back any time.")
    categories = [c for c in queries.categories_with_counts(user) if getattr(c, "article_count", 0)]
    return render(
        request,
        "kb/help_home.html",
        {"categories": categories, "popular": queries.popular_articles(user, limit=8)},
    )


@require_safe
def help_category(request: HttpRequest, slug: str) -> HttpResponse:
    user = reader(request)
    try:
        category = queries.category_by_slug(slug)
    except InvalidInput as error:
        raise Http404(error.message) from error
    articles = queries.published_articles(user).filter(category=category).order_by("title")
    return render(
        request,
        "kb/help_category.html",
        {"category": category, "articles": list(articles), "staff": queries.is_staff_reader(user)},
    )


@require_safe
def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    user = reader(request)
    if not queries.is_staff_reader(user):
        successor = queries.successor_of(slug)
        if successor is not None:
            # Merged into another article: bookmarks and old links keep working.
            return redirect("help-article", slug=successor.slug, permanent=True)
    article = article_or_404(user, slug)
    staff = queries.is_staff_reader(user)
    if article.status == ArticleStatus.PUBLISHED and not staff:
        # Staff checking their own work must not push an article up the customers' popular list.
        actions.do_record_view(article=article)
    attempt = queries.open_attempt_for(user, request.GET.get("ask", ""))
    if attempt is not None:
        actions.do_record_article_read(token=attempt.token, article=article)
    ask = attempt.token if attempt is not None else ""
    body_html = queries.article_html(article)
    return render(
        request,
        "kb/help_article.html",
        {
            "article": article,
            "body_html": body_html,
            "contents": _table_of_contents(body_html),
            "related": [
                (other, _with_ask(reverse("help-article", args=[other.slug]), ask))
                for other in queries.related_articles(user, article)
            ],
            "staff": staff,
            "can_edit": queries.can_edit_article(user, article),
            "ask": ask,
            "file_ticket_url": _with_ask(reverse("portal-new"), ask),
            "my_vote": request.session.get(VOTES_SESSION_KEY, {}).get(str(article.pk)),
        },
    )


@require_POST
def help_vote(request: HttpRequest, slug: str) -> HttpResponse:
    """Was this helpful? One vote per reader: the user, or the browser session when anonymous."""
    user = reader(request)
    article = article_or_404(user, slug)
    back = _with_ask(reverse("help-article", args=[article.slug]), request.POST.get("ask", ""))
    helpful = request.POST.get("helpful", "")
    if helpful not in {"yes", "no"}:
        messages.error(request, "Choose Yes or No to tell us whether the article helped.")
        return redirect(f"{back}#feedback")
    votes = request.session.get(VOTES_SESSION_KEY, {})
    votes[str(article.pk)] = helpful
    # Storing the vote makes the session non-empty, so an anonymous reader gets a session
    # (and its key) now; voting again from the same browser changes that vote.
    request.session[VOTES_SESSION_KEY] = votes
    if user is not None:
        voter_key = f"user:{user.pk}"
    else:
        if request.session.session_key is None:
            request.session.save()
        voter_key = f"session:{request.session.session_key}"
    actions.do_vote(
        article=article,
        voter_key=voter_key,
        user=user,
        helpful=helpful == "yes",
        comment=request.POST.get("comment", ""),
    )
    messages.success(
        request,
        "Thanks, glad it helped."
        if helpful == "yes"
        else "Thanks: the article's owner will see it.",
    )
    return redirect(f"{back}#feedback")


@require_safe
def help_search(request: HttpRequest) -> HttpResponse:
    user = reader(request)
    query = _clean_query(request.GET.get("q", ""))
    page = min(MAX_RESULT_PAGE, max(1, whole_number(request.GET.get("page"), default=1)))
    context: dict[str, Any] = {"query": query, "page": page, "results": [], "total": 0}
    if query:
        try:
            found = search_documents(
                query,
                audience=_audience(user),
                kinds=["article"],
                limit=RESULTS_PER_PAGE,
                offset=(page - 1) * RESULTS_PER_PAGE,
            )
        except DomainError as error:
            context["problem"] = error.message
        else:
            # The engine stops counting past its limit (total None): then "more" is a full page.
            more = (
                page * RESULTS_PER_PAGE < found.total
                if found.total is not None
                else len(found.hits) == RESULTS_PER_PAGE
            )
            context.update(
                results=_results(found.hits),
                total=found.total,
                relaxed=found.relaxed,
                pages=math.ceil(found.total / RESULTS_PER_PAGE) if found.total else None,
                previous_url=_search_url(query, page - 1) if page > 1 else "",
                next_url=_search_url(query, page + 1) if more and page < MAX_RESULT_PAGE else "",
            )
    return render(request, "kb/help_search.html", context)


def _search_url(query: str, page: int) -> str:
    return f"{reverse('help-search')}?{urlencode({'q': query, 'page': page})}"


@require_safe
def help_suggest(request: HttpRequest) -> JsonResponse:
    """Up to five public articles for what a customer is typing in the ask box (JSON)."""
    user = reader(request)
    if user is None:
        return JsonResponse({"detail": "Sign in to get suggestions."}, status=401)
    query = _clean_query(request.GET.get("q", ""))
    attempt = queries.open_attempt_for(user, request.GET.get("ask", ""))
    if attempt is not None and query:
        actions.do_note_attempt_query(token=attempt.token, query=query)
    if len(query) < 3:
        return JsonResponse({"query": query, "articles": []})
    # What a customer would see, even when staff try the ask box: public articles only.
    found = search_documents(
        query, audience=Audience.public(), kinds=["article"], limit=SUGGESTIONS
    )
    ask = attempt.token if attempt is not None else ""
    # First the article that answered earlier askings of this question (the question index
    # knows it by meaning, whatever the words), then the full-text matches.
    answering = queries.published_articles(None).filter(slug__in=answering_slugs(user, query))
    articles = [
        {
            "title": article.title,
            "url": _with_ask(f"/help/articles/{article.slug}/", ask),
            "snippet_html": "",
        }
        for article in answering
    ]
    articles += [
        {"title": result.title, "url": result.url, "snippet_html": result.snippet_html}
        for result in _results(found.hits, ask=ask)
        if result.url.split("?")[0] not in {a["url"].split("?")[0] for a in articles}
    ]
    return JsonResponse({"query": query, "articles": articles[:SUGGESTIONS]})


# --- staff: the owner's dashboard, articles, editor, history ----------------------------------
