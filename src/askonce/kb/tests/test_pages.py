"""Help-center and knowledge-base pages through Django's test client (clicks: test_browser)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from askonce.kb.actions import (
    ArticleChanges,
    do_create_article,
    do_create_category,
    do_open_documentation_task,
    do_update_article,
    do_vote,
)
from askonce.kb.models import Article, ArticleStatus, AttemptOutcome, SelfServiceAttempt
from askonce.kb.queries import Owner
from askonce.tickets.models import Ticket

pytestmark = pytest.mark.django_db

HOSTILE_QUERIES = [
    '"unbalanced quote',
    "NEAR(",
    "purge NEAR(cache",
    "x" * 10_240,
    "purge\x00cache",
    "\x00",
    "*",
    "-",
    "AND OR NOT",
    "title:",
    "'; DROP TABLE kb_article; --",
    "<script>alert(1)</script>",
    "(((((",
    "💥 ünïcödé",
    "%_%",
]


@pytest.fixture
def kb(make_staff):
    """Sam owns the Caching category: a public, an internal and a draft article in it."""
    sam = make_staff("support", email="sam@example.com", name="Sam Rivera")
    caching = do_create_category(slug="caching", name="Caching", owner=Owner(user=sam))
    public = do_create_article(
        actor=sam,
        title="Purge the cache",
        body="## Purge one file\n\nUse the purge button.\n\n## Purge everything\n\nCareful.\n",
        category=caching,
        owner=Owner(user=sam),
        publish=True,
    )
    internal = do_create_article(
        actor=sam,
        title="Purge queue runbook",
        body="Restart the purge queue worker.",
        category=caching,
        owner=Owner(user=sam),
        internal=True,
        publish=True,
    )
    draft = do_create_article(
        actor=sam,
        title="Purge by tag",
        body="Coming soon.",
        category=caching,
        owner=Owner(user=sam),
    )
    return {"sam": sam, "caching": caching, "public": public, "internal": internal, "draft": draft}


def test_help_center_renders_for_anonymous_readers(client, kb) -> None:
    """An anonymous reader browses topics, reads an article with its contents, and searches."""
    home = client.get("/help/")
    assert home.status_code == 200
    text = home.content.decode()
    assert "Caching" in text and "1 article" in text, "counts only what this reader may open"
    assert "Purge the cache" in text
    assert "Purge queue runbook" not in text and "Purge by tag" not in text

    category = client.get("/help/categories/caching/")
    assert category.status_code == 200
    assert "Purge the cache" in category.content.decode()
    assert "Purge queue runbook" not in category.content.decode()
    assert client.get("/help/categories/nope/").status_code == 404

    article = client.get("/help/articles/purge-the-cache/")
    body = article.content.decode()
    assert article.status_code == 200
    assert '<h2 id="purge-one-file">' in body, "rendered Markdown"
    assert 'href="#purge-everything"' in body, "table of contents from the headings"
    assert "Was this helpful?" in body
    assert "Owner:" not in body, "the owner is shown to staff only"
    kb["public"].refresh_from_db()
    assert kb["public"].view_count == 1

    results = client.get("/help/search", {"q": "purge button"})
    assert results.status_code == 200
    page = results.content.decode()
    assert "<mark>" in page and "/help/articles/purge-the-cache" in page
    assert re.search(r"1 result\b", page)
    assert "runbook" not in page, "internal articles never reach customers' search"

    empty = client.get("/help/search", {"q": "kubernetes"})
    assert 'data-testid="no-results"' in empty.content.decode()


def test_internal_and_draft_articles_are_for_staff_only(client, kb, make_contact) -> None:
    """Customers get a plain 404 for internal and draft articles; staff read them, marked."""
    for path in ["/help/articles/purge-queue-runbook/", "/help/articles/purge-by-tag/"]:
        assert client.get(path).status_code == 404, path
    contact = make_contact()
    client.force_login(contact)
    for path in ["/help/articles/purge-queue-runbook/", "/help/articles/purge-by-tag/"]:
        assert client.get(path).status_code == 404, path
    assert "runbook" not in client.get("/help/").content.decode()

    client.force_login(kb["sam"])
    internal = client.get("/help/articles/purge-queue-runbook/").content.decode()
    assert "Internal" in internal and "Owner: sam@example.com" in internal
    assert "/console/kb/articles/purge-queue-runbook/edit" in internal, "the owner may edit"
    draft = client.get("/help/articles/purge-by-tag/").content.decode()
    assert "Draft" in draft
    assert "Purge queue runbook" in client.get("/help/categories/caching/").content.decode()
    kb["internal"].refresh_from_db()
    assert kb["internal"].view_count == 0, "staff reading does not make an article popular"


@pytest.mark.parametrize("who", ["anonymous", "contact", "staff"])
def test_hostile_search_queries_answer_200(client, kb, make_contact, who) -> None:
    if who == "contact":
        client.force_login(make_contact())
    elif who == "staff":
        client.force_login(kb["sam"])
    for query in HOSTILE_QUERIES:
        response = client.get("/help/search", {"q": query, "page": "2"})
        assert response.status_code == 200, query
        assert "<script>alert" not in response.content.decode()
        if who != "anonymous":
            suggest = client.get("/help/suggest", {"q": query})
            assert suggest.status_code == 200, query
    assert client.get("/help/search", {"page": "x", "q": "purge"}).status_code == 200
    assert client.get("/help/search?q=purge&page=999999999999").status_code == 200


def test_staff_pages_refuse_customers(client, kb, make_contact, make_ticket) -> None:
    task = do_open_documentation_task(ticket_id=make_ticket().pk, summary="Explain purging")
    get_paths = [
        "/console/kb/",
        "/console/kb/articles/",
        "/console/kb/articles/new",
        "/console/kb/articles/purge-the-cache/edit",
        "/console/kb/articles/purge-the-cache/revisions",
        "/console/kb/articles/purge-the-cache/diff?from=1&to=1",
        "/console/kb/categories/",
        "/console/kb/tasks/",
    ]
    post_paths = [
        "/console/kb/articles/new",
        "/console/kb/articles/purge-the-cache/edit",
        "/console/kb/articles/purge-the-cache/reviewed",
        "/console/kb/articles/purge-the-cache/revisions/1/restore",
        "/console/kb/categories/",
        f"/console/kb/tasks/{task.pk}/write",
        f"/console/kb/tasks/{task.pk}/cancel",
    ]
    for path in get_paths:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    client.force_login(make_contact())
    for path in get_paths:
        assert client.get(path).status_code == 403, path
    for path in post_paths:
        assert client.post(path, {"title": "Hacked", "name": "Hacked"}).status_code == 403, path
    assert Article.objects.get(slug="purge-the-cache").title == "Purge the cache"
    assert not Article.objects.filter(title="Hacked").exists()


def test_a_vote_counts_once_per_reader(client, kb, make_contact) -> None:
    """Voting again changes the reader's vote; another reader adds one."""
    path = "/help/articles/purge-the-cache/vote"
    client.post(path, {"helpful": "yes"})
    client.post(path, {"helpful": "no", "comment": "Which button?"})
    article = Article.objects.get(slug="purge-the-cache")
    assert (article.helpful_count, article.not_helpful_count) == (0, 1)
    page = client.get("/help/articles/purge-the-cache/").content.decode()
    assert "You said it did not help" in page

    other = Client()
    other.post(path, {"helpful": "yes"})
    contact = make_contact()
    other.force_login(contact)
    other.post(path, {"helpful": "yes"})
    other.post(path, {"helpful": "yes"})
    article.refresh_from_db()
    assert (article.helpful_count, article.not_helpful_count) == (2, 1)
    assert set(article.votes.values_list("voter_key", flat=True)) >= {f"user:{contact.pk}"}

    assert client.post(path, {"helpful": "maybe"}).status_code == 302
    assert Client().post("/help/articles/purge-by-tag/vote", {"helpful": "yes"}).status_code == 404
    article.refresh_from_db()
    assert article.votes.count() == 3


def test_diff_page_escapes_markup(client, kb) -> None:
    """A script in an article's Markdown is shown as text in the diff, never run."""
    do_update_article(
        article=kb["public"],
        actor=kb["sam"],
        changes=ArticleChanges(body="Use the button.\n\n<script>alert('diff')</script>\n"),
        note="Add <b>bold</b> note",
    )
    client.force_login(kb["sam"])
    response = client.get("/console/kb/articles/purge-the-cache/diff?from=1&to=2")
    page = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(&#x27;diff&#x27;)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert 'class="diff-line diff-add"' in page and 'class="diff-line diff-remove"' in page
    only = client.get("/console/kb/articles/purge-by-tag/diff")
    assert "single revision" in only.content.decode()
    assert client.get("/console/kb/articles/purge-the-cache/diff?from=1&to=9").status_code == 404
    history = client.get("/console/kb/articles/purge-the-cache/revisions").content.decode()
    assert "diff" in history and "Restore" in history and "Add &lt;b&gt;bold" in history


def test_editor_creates_saves_publishes_and_keeps_input_on_errors(client, kb, make_staff) -> None:
    client.force_login(kb["sam"])
    refused = client.post(
        "/console/kb/articles/new",
        {"title": "Origin shield", "category": "nope", "owner": "", "body": "Kept *text*"},
    )
    page = refused.content.decode()
    assert refused.status_code == 200 and "Unknown category" in page
    assert "Kept *text*" in page and 'value="Origin shield"' in page

    no_owner = client.post(
        "/console/kb/articles/new",
        {"title": "Origin shield", "category": "caching", "owner": "", "action": "publish"},
    )
    assert "has no owner" in no_owner.content.decode()
    assert not Article.objects.filter(slug="origin-shield").exists(), "nothing half-applied"

    created = client.post(
        "/console/kb/articles/new",
        {"title": "Origin shield", "category": "caching", "owner": "sam@example.com", "body": "v1"},
    )
    assert created["Location"] == "/console/kb/articles/origin-shield/edit"
    edit = "/console/kb/articles/origin-shield/edit"
    form = {
        "title": "Origin shield",
        "category": "caching",
        "owner": "sam@example.com",
        "body": "## Enable it\n\nv2",
        "note": "Explain enabling",
    }
    client.post(edit, form | {"action": "publish"})
    article = Article.objects.get(slug="origin-shield")
    assert article.status == ArticleStatus.PUBLISHED and article.revision_number == 2
    saved = client.get(edit).content.decode()
    assert "Saved as revision 2. Published" in saved
    assert '<h2 id="enable-it">' in saved, "the preview is rendered on the server too"

    dropped_owner = client.post(edit, form | {"owner": ""}).content.decode()
    assert "must keep an owner" in dropped_owner

    client.post(edit, form | {"action": "archive"})
    article.refresh_from_db()
    assert article.status == ArticleStatus.ARCHIVED

    stranger = make_staff("support")
    client.force_login(stranger)
    refused_edit = client.get(edit)
    assert refused_edit.status_code == 403 and "sam@example.com" in refused_edit.content.decode()

    listing = client.get("/console/kb/articles/", {"status": "archived"}).content.decode()
    assert "Origin shield" in listing and "Purge the cache" not in listing
    assert (
        "Purge the cache" in client.get("/console/kb/articles/?category=caching").content.decode()
    )


def test_restore_brings_an_old_revision_back(client, kb) -> None:
    do_update_article(
        article=kb["public"], actor=kb["sam"], changes=ArticleChanges(body="Broken text")
    )
    client.force_login(kb["sam"])
    client.post("/console/kb/articles/purge-the-cache/revisions/1/restore")
    article = Article.objects.get(slug="purge-the-cache")
    assert article.revision_number == 3 and article.body.startswith("## Purge one file")
    page = client.get("/console/kb/articles/purge-the-cache/revisions").content.decode()
    assert "Restored revision 1" in page and "restored as revision 3" in page


def test_owner_dashboard_lists_tasks_stale_articles_and_comments(client, kb, make_ticket) -> None:
    """Sam sees the task for his category, writes it, and marks a stale article reviewed."""
    ticket = make_ticket(subject="How do I purge by tag?")
    task = do_open_documentation_task(
        ticket_id=ticket.pk, summary="Purging by tag", category=kb["caching"]
    )
    do_vote(article=kb["public"], voter_key="user:x", user=None, helpful=False, comment="Too short")
    with time_machine.travel(timezone.now() + timedelta(days=200), tick=False):
        client.force_login(kb["sam"])  # a session from 200 days ago would have expired
        page = client.get("/console/kb/").content.decode()
        assert "Purging by tag" in page and f"/console/tickets/{ticket.pk}/" in page
        assert "Due for review" in page and "Mark reviewed" in page
        assert "Too short" in page
        client.post("/console/kb/articles/purge-the-cache/reviewed")
        kb["public"].refresh_from_db()
        assert kb["public"].review_due_at > timezone.now()

    written = client.post(f"/console/kb/tasks/{task.pk}/write")
    task.refresh_from_db()
    assert task.article is not None
    assert written["Location"] == f"/console/kb/articles/{task.article.slug}/edit"
    assert "Purging by tag" in client.get("/console/kb/tasks/").content.decode()

    client.post(f"/console/kb/tasks/{task.pk}/cancel", {"reason": "Covered elsewhere"})
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert "No open documentation tasks" in client.get("/console/kb/tasks/").content.decode()


def test_categories_are_created_and_updated(client, kb) -> None:
    client.force_login(kb["sam"])
    client.post(
        "/console/kb/categories/",
        {"name": "Billing", "owner": "team:support", "review_interval_days": "90"},
    )
    page = client.get("/console/kb/categories/").content.decode()
    assert "Billing" in page and "team:support" in page and "90 days" in page
    bad = client.post(
        "/console/kb/categories/", {"name": "Bad", "review_interval_days": "soon"}
    ).content.decode()
    assert "whole number of days" in bad
    form = client.get("/console/kb/categories/?edit=billing").content.decode()
    assert 'value="team:support"' in form
    client.post(
        "/console/kb/categories/",
        {
            "slug": "billing",
            "name": "Billing & invoices",
            "owner": "",
            "review_interval_days": "30",
        },
    )
    assert "Billing &amp; invoices" in client.get("/console/kb/categories/").content.decode()


def test_ask_box_suggests_records_reads_and_filing(client, kb, make_contact) -> None:
    """A contact's ask-box visit: suggestions carry the token, reading counts, filing ends it."""
    assert client.get("/help/suggest", {"q": "purge"}).status_code == 401
    contact = make_contact()
    client.force_login(contact)
    page = client.get("/portal/new/").content.decode()
    token = re.search(r'name="ask" value="([^"]+)"', page).group(1)
    assert client.get("/portal/new/").content.decode().count(token) >= 2, "same visit on reload"

    suggestions = client.get("/help/suggest", {"q": "how to purge", "ask": token}).json()
    urls = [article["url"] for article in suggestions["articles"]]
    assert urls == [f"/help/articles/purge-the-cache/?ask={token}"], "public articles only"
    assert "<mark>" in suggestions["articles"][0]["snippet_html"]
    attempt = SelfServiceAttempt.objects.get(token=token)
    assert attempt.query == "how to purge" and attempt.user == contact

    article = client.get(urls[0]).content.decode()
    assert "Did this answer your question?" in article
    assert f"/portal/new/?ask={token}" in article
    assert list(attempt.articles_read.values_list("slug", flat=True)) == ["purge-the-cache"]

    stranger = Client()
    stranger.force_login(make_contact())
    assert "Did this answer" not in stranger.get(urls[0]).content.decode(), "token is personal"

    client.post(
        "/portal/new/",
        {"ask": token, "subject": "Purge fails", "body": "Still", "priority": "normal"},
    )
    attempt.refresh_from_db()
    ticket = Ticket.objects.get(subject="Purge fails")
    assert attempt.outcome == AttemptOutcome.FILED and attempt.ticket_id == ticket.pk
    assert token not in client.get("/portal/new/").content.decode(), "a new question, a new visit"
