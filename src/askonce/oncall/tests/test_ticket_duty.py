"""Weekend ticket duty: the console names whoever is on it, and each new unclaimed ticket filed
then is mailed to them, once."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from askonce.console.demo import load_demo_data
from askonce.oncall.actions import do_add_override, do_edit_layer
from askonce.oncall.models import Layer, TicketDutyNotice
from askonce.oncall.queries import schedule_by_slug, who_is_on_call
from askonce.oncall.ticket_duty import do_notify_ticket_duty_for_unhandled, on_ticket_duty
from askonce.tickets.actions import do_claim_ticket, do_create_ticket

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# In the demo, Lena has the weekend of March 20-21 2027 (London), Sam the next one.
SATURDAY_NOON = datetime(2027, 3, 20, 12, tzinfo=LONDON)
FRIDAY_NOON = datetime(2027, 3, 19, 12, tzinfo=LONDON)


@pytest.fixture
def demo(make_contact):
    load_demo_data()
    from askonce.accounts.models import User

    return {
        "sam": User.objects.get(email="sam@example.com"),
        "lena": User.objects.get(email="lena@example.com"),
        "alice": User.objects.get(email="alice@acme.example"),
    }


def duty_mails(mailbox, address: str) -> list:
    return [m for m in mailbox.to(address) if m["Subject"].startswith("[Ticket duty]")]


def test_the_demo_weekend_layer_is_ticket_duty(demo) -> None:
    layer = Layer.objects.get(schedule__slug="support", name="Weekend ticket duty")
    assert layer.ticket_duty
    assert not Layer.objects.filter(ticket_duty=True).exclude(pk=layer.pk).exists()
    with time_machine.travel(SATURDAY_NOON, tick=False):
        [duty] = on_ticket_duty()
        assert duty.user == demo["lena"]
        assert duty.end == datetime(2027, 3, 22, tzinfo=LONDON)
    with time_machine.travel(FRIDAY_NOON, tick=False):
        assert on_ticket_duty() == []
    # In winter Saturday 00:30 London is Friday afternoon in San Francisco: Sam is the one paged,
    # but the weekend's ticket duty is Lena's from midnight.
    just_after_midnight = datetime(2027, 1, 9, 0, 30, tzinfo=LONDON)  # Lena's weekend too
    support = schedule_by_slug("support")
    assert support is not None and who_is_on_call(support, just_after_midnight) == demo["sam"]
    with time_machine.travel(just_after_midnight, tick=False):
        assert [duty.user for duty in on_ticket_duty()] == [demo["lena"]]


def test_a_ticket_filed_at_the_weekend_is_mailed_to_whoever_is_on_duty(
    demo, mailbox, django_capture_on_commit_callbacks
) -> None:
    """Alice files on Saturday: Lena gets a mail with the ticket; on Friday nobody does."""
    with time_machine.travel(SATURDAY_NOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = do_create_ticket(
                subject="Invoices page is blank",
                body="Since this morning the invoices page shows nothing.",
                requester=demo["alice"],
                actor=demo["alice"],
            )
        [mail] = duty_mails(mailbox, "lena@example.com")
        assert mail["Subject"] == f"[Ticket duty] New ticket #{ticket.pk}: Invoices page is blank"
        body = mail.get_payload(decode=True).decode()
        assert f"/console/tickets/{ticket.pk}/" in body
        assert "the invoices page shows nothing" in body
        assert "alice@acme.example (Acme Streaming)" in body
        assert not duty_mails(mailbox, "sam@example.com")

        # The worker's sweep finds nothing left to do, however often it runs.
        with django_capture_on_commit_callbacks(execute=True):
            assert do_notify_ticket_duty_for_unhandled() == 0
            assert do_notify_ticket_duty_for_unhandled() == 0
    assert len(duty_mails(mailbox, "lena@example.com")) == 1
    assert TicketDutyNotice.objects.get().ticket_id == ticket.pk

    with time_machine.travel(FRIDAY_NOON + timedelta(days=7), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            do_create_ticket(
                subject="Weekday question",
                body="Nothing urgent.",
                requester=demo["alice"],
                actor=demo["alice"],
            )
    assert TicketDutyNotice.objects.count() == 1, "no ticket duty on a Friday"


def test_the_sweep_tells_of_tickets_whose_subscriber_never_ran_unless_claimed(
    demo, mailbox, django_capture_on_commit_callbacks
) -> None:
    """The process stopped between the ticket's commit and its notice: the worker sends it
    within the minute; a ticket an agent claimed meanwhile is nobody's news."""
    with time_machine.travel(SATURDAY_NOON, tick=False) as clock:
        # No captured callbacks: the commit-time subscriber never runs, as after a crash.
        waiting = do_create_ticket(
            subject="Purge stuck", body="Still stuck.", requester=demo["alice"], actor=demo["alice"]
        )
        claimed = do_create_ticket(
            subject="Login loop", body="Loops.", requester=demo["alice"], actor=demo["alice"]
        )
        do_claim_ticket(ticket=claimed, actor=demo["sam"])
        clock.shift(timedelta(seconds=40))
        with django_capture_on_commit_callbacks(execute=True):
            assert do_notify_ticket_duty_for_unhandled() == 1
            assert do_notify_ticket_duty_for_unhandled() == 0
    [mail] = duty_mails(mailbox, "lena@example.com")
    assert f"#{waiting.pk} Purge stuck" in mail.get_payload(decode=True).decode()


def test_an_override_moves_ticket_duty_and_an_emergency_pages_instead(
    demo, mailbox, django_capture_on_commit_callbacks
) -> None:
    """Sam takes Lena's Saturday afternoon: the new ticket goes to him. An emergency on the same
    afternoon pages him rather than adding a ticket-duty mail."""
    support = schedule_by_slug("support")
    assert support is not None
    do_add_override(
        schedule=support,
        user=demo["sam"],
        start=SATURDAY_NOON,
        end=SATURDAY_NOON + timedelta(hours=6),
        actor=None,
    )
    with time_machine.travel(SATURDAY_NOON + timedelta(hours=1), tick=False):
        assert [duty.user for duty in on_ticket_duty()] == [demo["sam"]]
        with django_capture_on_commit_callbacks(execute=True):
            do_create_ticket(
                subject="CDN cert expiring",
                body="Our cert expires Monday.",
                requester=demo["alice"],
                actor=demo["alice"],
            )
            do_create_ticket(
                subject="Everything is down",
                body="All POPs 503.",
                requester=demo["alice"],
                actor=demo["alice"],
                emergency=True,
            )
    [told] = duty_mails(mailbox, "sam@example.com")
    assert "CDN cert expiring" in told["Subject"]
    assert not duty_mails(mailbox, "lena@example.com")
    assert any("] Page #" in m["Subject"] for m in mailbox.to("sam@example.com"))


def test_the_console_names_who_is_on_ticket_duty(demo, client) -> None:
    """At the weekend every console page says Lena is on ticket duty; Lena reads 'You are'."""
    with time_machine.travel(SATURDAY_NOON, tick=False):
        client.force_login(demo["sam"])
        page = client.get("/console/schedules/").content.decode()
        assert 'data-testid="ticket-duty">On ticket duty: <strong>Lena Fischer</strong>' in page
        assert "until Sun Mar 21, 17:00" in page, "in Sam's zone (Los Angeles)"
        client.force_login(demo["lena"])
        mine = client.get("/console/").content.decode()
        assert "<strong>You are on ticket duty</strong>" in mine
    with time_machine.travel(FRIDAY_NOON, tick=False):
        client.force_login(demo["lena"])
        friday = client.get("/console/")
        assert friday.status_code == 200
        assert 'data-testid="ticket-duty"' not in friday.content.decode()


def test_a_layer_edit_takes_effect_at_once_in_this_process(
    demo, django_capture_on_commit_callbacks
) -> None:
    """The answer is kept (no query per page), and turning ticket duty off in the console is
    seen on the next page, not a minute later."""
    layer = Layer.objects.get(schedule__slug="support", name="Weekend ticket duty")
    with time_machine.travel(SATURDAY_NOON, tick=False):
        assert on_ticket_duty()
        with CaptureQueriesContext(connection) as asked:
            on_ticket_duty()
        assert len(asked) == 0
        with django_capture_on_commit_callbacks(execute=True):
            do_edit_layer(layer=layer, actor=None, ticket_duty=False)
        assert on_ticket_duty() == []
