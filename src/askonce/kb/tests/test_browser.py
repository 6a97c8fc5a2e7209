"""The knowledge base in a real browser: the editor's live preview, hostile Markdown, deflection."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from askonce.kb.actions import do_create_article, do_create_category, do_decide_idle_attempts
from askonce.kb.models import AttemptOutcome, SelfServiceAttempt
from askonce.kb.queries import Owner
from askonce.testing.browser import screenshot
from askonce.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE_MARKDOWN = """# Hostile article

<script>window.__pwned = 1</script>

[markdown link](javascript:window.__pwned=2)

<img src=x onerror="window.__pwned = 3">

<a href="javascript:window.__pwned=4;alert(4)">raw link</a>

<a href="#top" onclick="window.__pwned = 5; alert(5)">onclick link</a>

<details open ontoggle="window.__pwned = 6"><summary>More</summary>Hidden text</details>
"""


@pytest.fixture
def kb(make_staff, make_organization, make_contact):
    sam = make_staff("support", email="sam@example.com", name="Sam Rivera")
    acme = make_organization("Acme Streaming", domain="acme.example")
    make_contact(acme, email="alice@acme.example", name="Alice Archer")
    make_contact(acme, email="bob@acme.example", name="Bob Baker")
    caching = do_create_category(
        slug="caching", name="Caching", owner=Owner(user=sam), description="Purges and TTLs."
    )
    do_create_article(
        actor=sam,
        title="Purge the cache",
        body="Open **Settings → Cache** and press *Purge*.\n\n## Purge one file\n\nGive its path.\n",
        category=caching,
        owner=Owner(user=sam),
        publish=True,
    )
    return {"sam": sam, "caching": caching}


def _assert_nothing_ran(page, where: str) -> None:
    page.mouse.move(10, 10)
    assert page.evaluate("window.__pwned") is None, where
    assert page.dialogs == [], where


def _click_every_link(page, container: str) -> None:
    links = page.locator(f"{container} a")
    for index in range(links.count()):
        links.nth(index).click()
    page.wait_for_load_state()


def test_staff_edits_with_live_preview_and_reads_the_diff(kb, open_page) -> None:
    """Sam types a new section, sees it rendered live, saves, and finds it in the diff."""
    sam = open_page("sam@example.com", "pw-staff-123")
    sam.get_by_role("link", name="Knowledge base").click()
    screenshot(sam, "kb-dashboard")
    sam.goto("/console/kb/articles/purge-the-cache/edit")
    body = sam.locator("textarea[name=body]")
    body.press("End")
    body.press_sequentially("\n## Purge a whole site\n\nUse the API.")
    expect(sam.locator("[data-preview] h2", has_text="Purge a whole site")).to_be_visible()
    sam.fill("input[name=note]", "Explain purging a site")
    screenshot(sam, "kb-editor")
    sam.get_by_role("button", name="Save", exact=True).click()
    expect(sam.locator(".flashes")).to_contain_text("Saved as revision 2.")

    sam.get_by_role("link", name="History").click()
    latest = sam.get_by_test_id("revision-2")
    expect(latest).to_contain_text("Explain purging a site")
    latest.get_by_role("link", name="diff").click()
    expect(sam.locator(".diff-add", has_text="## Purge a whole site")).to_be_visible()
    expect(sam.locator(".diff-remove")).to_have_count(0)
    screenshot(sam, "kb-diff")


def test_hostile_markdown_never_runs(kb, open_page) -> None:
    """Scripts, handlers and javascript: links in an article do nothing, on the page or preview."""
    do_create_article(
        actor=kb["sam"],
        title="Hostile article",
        body=HOSTILE_MARKDOWN,
        category=kb["caching"],
        owner=Owner(user=kb["sam"]),
        publish=True,
    )
    alice = open_page("alice@acme.example", "pw-contact-123")
    alice.goto("/help/articles/hostile-article/")
    alice.wait_for_load_state("load")
    expect(alice.get_by_test_id("article-body")).to_contain_text("raw link")
    _click_every_link(alice, "[data-testid=article-body]")
    _assert_nothing_ran(alice, "article page")

    sam = open_page("sam@example.com", "pw-staff-123")
    sam.goto("/console/kb/articles/hostile-article/edit")
    sam.locator("textarea[name=body]").press("End")
    sam.locator("textarea[name=body]").press_sequentially("\n## Fresh preview")
    expect(sam.locator("[data-preview] h2", has_text="Fresh preview")).to_be_visible()
    expect(sam.locator("[data-preview]")).to_contain_text("onclick link")
    _click_every_link(sam, "[data-preview]")
    _assert_nothing_ran(sam, "editor preview")


def _ask(page, question: str):
    page.goto("/portal/new/")
    page.locator("input[name=subject]").press_sequentially(question)
    suggestion = page.locator(".ask-suggestions a", has_text="Purge the cache")
    expect(suggestion).to_be_visible()
    return suggestion


def test_reading_a_suggestion_deflects_and_filing_anyway_does_not(kb, open_page) -> None:
    """Alice reads the suggested article and leaves: deflected. Bob reads, goes back, files."""
    alice = open_page(
        "alice@acme.example", "pw-contact-123", viewport={"width": 390, "height": 844}
    )
    suggestion = _ask(alice, "How do I purge the cache?")
    expect(alice.locator(".ask-suggestions mark").first).to_be_visible()
    screenshot(alice, "portal-ask-box")
    suggestion.click()
    expect(alice.get_by_test_id("ask-banner")).to_contain_text("Did this answer your question?")
    expect(alice.locator("h1")).to_have_text("Purge the cache")
    screenshot(alice, "help-article")
    alice.goto("/help/")
    screenshot(alice, "help-center")
    alice.close()

    bob = open_page("bob@acme.example", "pw-contact-123")
    _ask(bob, "purge cache not working").click()
    expect(bob.get_by_test_id("ask-banner")).to_be_visible()
    bob.go_back()
    expect(bob.locator("input[name=subject]")).to_have_value("purge cache not working")
    bob.fill("textarea[name=body]", "I pressed Purge and Paris still serves the old file.")
    bob.get_by_role("button", name="Send").click()
    expect(bob.locator(".flashes")).to_contain_text("Ticket #")

    do_decide_idle_attempts(now=timezone.now() + timedelta(minutes=31))
    alices = SelfServiceAttempt.objects.get(user__email="alice@acme.example")
    bobs = SelfServiceAttempt.objects.get(user__email="bob@acme.example")
    assert alices.outcome == AttemptOutcome.DEFLECTED
    assert list(alices.articles_read.values_list("slug", flat=True)) == ["purge-the-cache"]
    assert "purge the cache" in alices.query.lower()
    assert bobs.outcome == AttemptOutcome.FILED
    assert bobs.ticket_id == Ticket.objects.get(requester__email="bob@acme.example").pk
    assert list(bobs.articles_read.values_list("slug", flat=True)) == ["purge-the-cache"]
