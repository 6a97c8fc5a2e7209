"""Who pages, end to end: an emergency mail through the SMTP server, a missed response target.

Mail goes through the real SMTP intake and out to the SMTP sink, webhooks to a real HTTP
receiver; time moves when the test says so and the worker runs as `askonce worker --once`.
"""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from askonce.core.models import Event
from askonce.notify.webhooks import check_signature, do_create_webhook_endpoint
from askonce.oncall.actions import StepDraft, do_create_escalation_policy
from askonce.oncall.models import EscalationTimer, Page, PageLink
from askonce.oncall.tests.conftest import on_call_schedule
from askonce.tickets.actions import do_assign_to_team, do_claim_ticket, do_create_ticket
from askonce.tickets.models import Ticket

LINK = re.compile(r"http://testserver(/pages/link/\S+/)")


def page_mails(mailbox, address: str) -> list:
    return [m for m in mailbox.to(address) if "] Page #" in m["Subject"]]


def text(message) -> str:
    return message.get_payload(decode=True).decode()


@pytest.fixture
def alice(make_organization, make_contact):
    acme = make_organization("Acme Streaming", plan="premium", domain="acme.example")
    return make_contact(acme, email="alice@acme.example", name="Alice Archer")


def test_a_premium_emergency_mail_pages_support_until_someone_acknowledges(
    support, alice, send, mail, mailbox, receiver
) -> None:
    """Alice mails emergency@; Sam is paged by mail and on his phone, then the admin; Sam's
    acknowledge link stops it, and works only once."""
    phone = do_create_webhook_endpoint(
        name="Sam's phone", url=receiver.url("/sam"), user=support.sam
    )
    do_create_webhook_endpoint(name="#pages", url=receiver.url("/channel"), slack_format=True)
    browser = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        send(mail(to="emergency@example.com", subject="Site down", body="All POPs return 503"))

        ticket = Ticket.objects.get()
        page = Page.objects.get()
        assert (page.status, page.urgency, page.ticket_id) == ("triggered", "high", ticket.pk)
        assert page.summary == "Emergency from Acme Streaming: Site down"
        [paged] = page_mails(mailbox, "sam@example.com")
        assert (
            paged["Subject"] == f"[HIGH] Page #{page.pk}: Emergency from Acme Streaming: Site down"
        )
        assert "All POPs return 503" in text(paged)
        assert f"/console/tickets/{ticket.pk}/" in text(paged)
        acknowledge, resolve = LINK.findall(text(paged))

        [pushed] = receiver.to("/sam")
        assert check_signature(phone.secret, pushed.body, pushed.headers["x-askonce-signature"])
        notice = json.loads(pushed.body)
        assert notice["event"] == "page.notify" and notice["recipient"] == "sam@example.com"
        assert notice["page"]["id"] == page.pk and notice["page"]["ticket_id"] == ticket.pk
        [announced] = receiver.to("/channel")
        assert json.loads(announced.body)["text"].startswith(f"[high] Page #{page.pk} triggered")

        clock.shift(timedelta(minutes=14, seconds=59))
        call_command("worker", "--once")
        assert not page_mails(mailbox, "admin@example.com"), "Sam still has a second"

        clock.shift(timedelta(seconds=1))
        call_command("worker", "--once")
        call_command("worker", "--once")
        [escalated] = page_mails(mailbox, "admin@example.com")
        assert "step 2 of 2" in text(escalated)
        assert (
            "escalated to admin@example.com" in json.loads(receiver.to("/channel")[1].body)["text"]
        )

        confirm = browser.get(acknowledge)
        assert confirm.status_code == 200 and b"Acknowledge page #" in confirm.content
        page.refresh_from_db()
        assert page.status == "triggered", "opening the link (a mail scanner could) does nothing"
        done = browser.post(acknowledge)
        assert done.status_code == 200 and b"acknowledged" in done.content
        page.refresh_from_db()
        assert page.status == "acknowledged" and page.acknowledged_by == support.sam

        clock.shift(timedelta(hours=3))
        call_command("worker", "--once")
        assert len(page_mails(mailbox, "sam@example.com")) == 1, "no repeat round after the ack"
        assert len(page_mails(mailbox, "admin@example.com")) == 1
        assert not EscalationTimer.objects.filter(status="pending").exists()

        reused = browser.post(acknowledge)
        assert reused.status_code == 410
        assert b"already used" in reused.content and b"now acknowledged" in reused.content
        assert browser.get(acknowledge).status_code == 410
        assert browser.post(resolve).status_code == 200, "the other link still works, once"
    page.refresh_from_db()
    assert page.status == "resolved" and page.resolved_by == support.sam
    assert PageLink.objects.filter(used_at__isnull=False).count() == 2
    assert browser.get("/pages/link/not-a-signed-token/").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_an_expired_or_tampered_link_is_refused_readably(support, mailbox) -> None:
    call_command("page", "--team", "support", "Queue stuck")
    acknowledge, _ = LINK.findall(text(page_mails(mailbox, "sam@example.com")[0]))
    tampered = Client().post(acknowledge.replace("/pages/link/", "/pages/link/x"))
    assert tampered.status_code == 400 and b"not valid" in tampered.content
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        expired = Client().post(acknowledge)
    assert expired.status_code == 410 and b"expired" in expired.content
    assert Page.objects.get().status == "triggered"

    call_command("page", "--resolve", str(Page.objects.get().pk))
    late = Client().post(acknowledge)
    assert late.status_code == 409 and b"it is &#x27;resolved&#x27;" in late.content
    assert not PageLink.objects.filter(used_at__isnull=False).exists(), "the link is not spent"


def test_a_standard_customers_emergency_mail_pages_nobody(
    support, send, mail, mailbox, make_organization, make_contact
) -> None:
    bistro = make_organization("Bistro Maps", plan="standard", domain="bistro.example")
    make_contact(bistro, email="bob@bistro.example")
    send(mail(sender="bob@bistro.example", to="emergency@example.com", subject="Help now"))
    call_command("worker", "--once")
    assert Ticket.objects.count() == 1 and not Ticket.objects.get().emergency
    assert Page.objects.count() == 0
    assert not page_mails(mailbox, "sam@example.com")


@pytest.mark.django_db(transaction=True)
def test_a_missed_response_target_pages_that_teams_on_call_once(
    support, make_team, make_staff, make_ticket, mailbox, receiver
) -> None:
    """Ops lets its target pass: Omar gets one low-urgency page (mail only), however often the
    worker checks."""
    ops = make_team("ops", minutes=120)
    omar = make_staff("ops", email="omar@example.com")
    schedule = on_call_schedule("ops", omar)
    do_create_escalation_policy(
        team=ops, name="Ops", slug="ops", steps=[StepDraft(schedule)], actor=None
    )
    do_create_webhook_endpoint(name="Omar's phone", url=receiver.url("/omar"), user=omar)
    ticket = make_ticket(subject="Cache purge slow")
    do_claim_ticket(ticket=ticket, actor=support.sam)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        do_assign_to_team(ticket=ticket, team=ops, actor=support.sam)
        clock.shift(timedelta(minutes=121))
        for _ in range(3):
            call_command("worker", "--once")
    page = Page.objects.get()
    assert (page.urgency, page.policy.slug, page.ticket_id) == ("low", "ops", ticket.pk)
    assert (
        page.summary == f"Ops missed its response target on ticket #{ticket.pk}: Cache purge slow"
    )
    assert page.dedup_key == f"ticket-{ticket.pk}-handoff-1-missed"
    assert len(page_mails(mailbox, "omar@example.com")) == 1
    assert receiver.to("/omar") == [], "low urgency: email only"


@pytest.mark.django_db
def test_an_event_whose_subscriber_never_ran_still_pages(support, alice) -> None:
    """The process died between the emergency's commit and its subscriber: the worker pages."""
    # In a test transaction nothing is committed, so the after-commit subscriber never runs.
    ticket = do_create_ticket(
        subject="Site down", body="503 everywhere", requester=alice, actor=alice, emergency=True
    )
    assert Event.objects.filter(verb="emergency_received").exists()
    assert Page.objects.count() == 0
    call_command("worker", "--once")
    call_command("worker", "--once")
    page = Page.objects.get()
    assert page.ticket_id == ticket.pk and page.urgency == "high"
