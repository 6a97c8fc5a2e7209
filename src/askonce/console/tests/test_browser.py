"""The hand-off loop in a real browser: agent console, team queue and customer portal."""

import re

import pytest

from askonce.testing.browser import screenshot
from askonce.tickets.actions import do_create_ticket
from askonce.tickets.models import Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = (
    "Our page breaks <script>window.__pwned = 1</script> "
    '<img src=x onerror="window.__pwned = 2"> <b onmouseover=alert(3)>bold</b>'
)


@pytest.fixture
def people(make_organization, make_contact, make_staff, make_team):
    make_team("ops", name="Operations", minutes=120)
    acme = make_organization("Acme Streaming", plan="premium", domain="acme.example")
    return {
        "alice": make_contact(acme, email="alice@acme.example", name="Alice Archer"),
        "sam": make_staff("support", email="sam@example.com", name="Sam Rivera"),
        "omar": make_staff("ops", email="omar@example.com", name="Omar Haddad"),
    }


def _status(page) -> str:
    return page.get_by_test_id("status").inner_text().strip()


def test_handoff_loop_in_the_browser(people, open_page) -> None:
    """Sam claims, hands to ops, Omar answers, Sam takes back, replies and solves; Alice sees the reply."""
    ticket = do_create_ticket(
        subject="Purge does not refresh Paris",
        body="We purged /app.js and Paris still serves the old file.",
        requester=people["alice"],
        actor=people["alice"],
    )
    sam = open_page("sam@example.com", "pw-staff-123")
    sam.goto("/console/?queue=unclaimed")
    screenshot(sam, "console-queue")
    sam.get_by_role("link", name="Purge does not refresh Paris").click()
    assert _status(sam) == "New"

    sam.get_by_role("button", name="Claim").click()
    assert _status(sam) == "Open"
    assert sam.get_by_test_id("owner").inner_text() == people["sam"].display_name

    sam.select_option("select[name=team]", "ops")
    sam.fill("input[name=note]", "Can you check the Paris purge queue?")
    sam.get_by_role("button", name="Assign").click()
    assert _status(sam) == "With team"
    assert sam.get_by_test_id("team").inner_text() == "Operations"

    omar = open_page("omar@example.com", "pw-staff-123")
    assert "/console/teams/ops/" in omar.url, "team members land on their team's queue"
    omar.get_by_role("link", name="Purge does not refresh Paris").click()
    assert omar.get_by_role("button", name="Claim").count() == 0
    omar.fill("textarea[name=body] >> nth=0", "Purge queue in CDG was stuck; restarted it.")
    omar.get_by_role("button", name="Add internal note").click()
    assert _status(omar) == "Returned"

    sam.reload()
    assert _status(sam) == "Returned"
    sam.get_by_role("button", name="Take back").click()
    assert _status(sam) == "Open"
    sam.fill(
        "form[action$='/reply/'] textarea[name=body]",
        "Fixed: the Paris purge queue is running again.",
    )
    sam.get_by_role("button", name="Send reply").click()
    sam.locator("details.solve summary").click()
    sam.fill("textarea[name=resolution]", "Restarted the CDG purge queue.")
    sam.check("input[name=decision][value=not_needed]")
    sam.fill("input[name=reason]", "Infrastructure incident, nothing to document")
    screenshot(sam, "console-ticket")
    sam.get_by_role("button", name="Solve ticket").click()
    assert _status(sam) == "Solved"
    assert "ticket.solved" in sam.locator(".trail").inner_text()

    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED and ticket.handoff_count == 1
    assert ticket.owner == people["sam"]

    alice = open_page("alice@acme.example", "pw-contact-123")
    assert "/portal/" in alice.url
    alice.get_by_role("link", name="Purge does not refresh Paris").click()
    thread = alice.locator(".thread").inner_text()
    assert "Fixed: the Paris purge queue is running again." in thread
    assert "CDG was stuck" not in thread, "the customer never sees internal notes"
    assert "Can you check" not in thread
    screenshot(alice, "portal-ticket")


def test_customer_opens_a_ticket_and_support_sees_it(people, open_page) -> None:
    alice = open_page(
        "alice@acme.example", "pw-contact-123", viewport={"width": 390, "height": 844}
    )
    alice.get_by_role("link", name="New ticket").first.click()
    alice.fill("input[name=subject]", "Invoice address is wrong")
    alice.fill("textarea[name=body]", "Please change it to Berlin.")
    alice.get_by_role("button", name="Send").click()
    assert re.search(r"/portal/tickets/\d+/$", alice.url)
    assert "Ticket #" in alice.locator(".flashes").inner_text()
    screenshot(alice, "portal-phone")
    created = Ticket.objects.get(subject="Invoice address is wrong")
    assert created.requester == people["alice"]

    alice.goto("/portal/new/")
    alice.fill("input[name=subject]", "Blank body")
    alice.fill("textarea[name=body]", "   ")
    alice.get_by_role("button", name="Send").click()
    assert "body must not be empty" in alice.locator(".flashes").inner_text()
    assert alice.locator("input[name=subject]").input_value() == "Blank body", (
        "nothing typed is lost"
    )
    assert not Ticket.objects.filter(subject="Blank body").exists()


def test_hostile_html_in_messages_never_runs(people, open_page) -> None:
    """Script tags and event handlers in a customer's text show as text in every page."""
    ticket = do_create_ticket(
        subject="<script>window.__pwned=3</script>Broken page",
        body=HOSTILE,
        requester=people["alice"],
        actor=people["alice"],
    )
    for email, password, path in [
        ("sam@example.com", "pw-staff-123", f"/console/tickets/{ticket.pk}/"),
        ("sam@example.com", "pw-staff-123", "/console/?queue=unclaimed"),
        ("alice@acme.example", "pw-contact-123", f"/portal/tickets/{ticket.pk}/"),
        ("alice@acme.example", "pw-contact-123", "/portal/"),
    ]:
        page = open_page(email, password)
        page.goto(path)
        page.wait_for_load_state("load")
        page.mouse.move(200, 300)
        assert page.evaluate("window.__pwned") is None, path
        assert page.dialogs == [], path
        assert "<script>" in page.locator("main").inner_text(), "shown as text, not dropped"


def test_contact_cannot_open_another_organizations_ticket_page(
    people, open_page, make_contact
) -> None:
    other = make_contact()
    private = do_create_ticket(
        subject="Private to them", body="secret", requester=other, actor=other
    )
    alice = open_page("alice@acme.example", "pw-contact-123")
    response = alice.goto(f"/portal/tickets/{private.pk}/")
    assert response.status == 404
    assert "secret" not in alice.content()
    staff_page = alice.goto(f"/console/tickets/{private.pk}/")
    assert "/portal/" in alice.url and staff_page.status == 200
