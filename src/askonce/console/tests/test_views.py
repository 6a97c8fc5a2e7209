"""Console and portal pages, through Django's test client (the browser tests cover clicks)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from askonce.tickets.actions import do_assign_to_team, do_claim_ticket
from askonce.tickets.models import Status

pytestmark = pytest.mark.django_db


def _queue_counts(page) -> dict[str, str]:
    return {key: count for key, _title, count in page.context["queues"]}


def test_queues_count_and_list_the_right_tickets(
    client, make_staff, make_ticket, make_team
) -> None:
    ops = make_team("ops", minutes=60)
    sam, lena = make_staff("support"), make_staff("support")
    unclaimed = make_ticket(subject="Nobody has me yet")
    mine = make_ticket(subject="Sam's ticket")
    handed = make_ticket(subject="With ops")
    do_claim_ticket(ticket=mine, actor=sam)
    do_claim_ticket(ticket=handed, actor=lena)
    client.force_login(sam)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        do_assign_to_team(ticket=handed, team=ops, actor=lena)
        page = client.get("/console/?queue=unclaimed")
        counts = _queue_counts(page)
        assert counts["unclaimed"] == 1 and counts["mine"] == 1 and counts["with_team"] == 1
        assert counts["overdue"] == 0 and counts["due_soon"] == 0
        assert [t.pk for t in page.context["page"]["items"]] == [unclaimed.pk]

        clock.shift(timedelta(minutes=45))
        assert _queue_counts(client.get("/console/"))["due_soon"] == 1
        clock.shift(timedelta(minutes=20))
        overdue = client.get("/console/?queue=overdue")
        assert [t.pk for t in overdue.context["page"]["items"]] == [handed.pk]
        assert "With ops" in overdue.content.decode()
    assert client.get("/console/?queue=nonsense").status_code == 404


def test_team_member_sees_the_team_queue(client, make_staff, make_ticket, make_team) -> None:
    ops = make_team("ops")
    agent, omar = make_staff("support"), make_staff("ops")
    ticket = make_ticket(subject="Origin timeouts")
    do_claim_ticket(ticket=ticket, actor=agent)
    do_assign_to_team(ticket=ticket, team=ops, actor=agent)
    client.force_login(omar)
    assert client.get("/")["Location"] == "/console/teams/ops/"
    page = client.get("/console/teams/ops/")
    assert "Origin timeouts" in page.content.decode()


def test_a_refused_action_shows_why_and_changes_nothing(client, make_staff, make_ticket) -> None:
    agent = make_staff("support")
    ticket = make_ticket()
    client.force_login(agent)
    answer = client.post(f"/console/tickets/{ticket.pk}/take-back/", follow=True)
    assert "Cannot take back" in answer.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    solve = client.post(
        f"/console/tickets/{ticket.pk}/solve/", {"resolution": "x", "decision": ""}, follow=True
    )
    assert "documentation decision is required" in solve.content.decode()


def test_pages_show_times_in_the_users_time_zone(client, make_staff, make_ticket) -> None:
    agent = make_staff("support")
    agent.time_zone = "Asia/Tokyo"
    agent.save()
    with time_machine.travel("2026-03-01 12:00:00+00:00", tick=False):
        ticket = make_ticket()
    client.force_login(agent)
    assert "Mar 1, 21:00" in client.get(f"/console/tickets/{ticket.pk}/").content.decode()


def test_contact_gets_404_for_another_organizations_page(client, make_contact, make_ticket) -> None:
    client.force_login(make_contact())
    other = make_ticket(subject="Theirs")
    answer = client.get(f"/portal/tickets/{other.pk}/")
    assert answer.status_code == 404
    assert "Theirs" not in answer.content.decode()
    reply = client.post(f"/portal/tickets/{other.pk}/", {"body": "let me in"})
    assert reply.status_code == 404
    assert other.messages.count() == 1


def test_on_call_pages_show_who_is_on_call_and_the_timeline(client) -> None:
    from askonce.console.demo import load_demo_data

    load_demo_data()
    from askonce.accounts.models import User

    with time_machine.travel("2027-03-16 10:00:00+00:00", tick=False):  # Tuesday, 10:00 London
        client.force_login(User.objects.get(email="sam@example.com"))
        listing = client.get("/console/schedules/").content.decode()
        assert "lena@example.com" in listing
        page = client.get("/console/schedules/support/")
        assert client.get("/console/schedules/nope/").status_code == 404
    text = page.content.decode()
    assert page.status_code == 200
    for label in ["London", "San Francisco", "Weekend ticket duty"]:
        assert label in text
    assert 'data-testid="on-call">Lena Fischer' in text


def test_an_agent_pages_a_team_from_the_ticket_and_acknowledges_in_the_console(
    client, make_ticket
) -> None:
    from askonce.accounts.models import User
    from askonce.console.demo import load_demo_data
    from askonce.oncall.models import Page

    load_demo_data()
    ticket = make_ticket(subject="Edge down in CDG")
    client.force_login(User.objects.get(email="sam@example.com"))
    answer = client.post(
        f"/console/tickets/{ticket.pk}/page/",
        {"team": "ops", "summary": "CDG edge down"},
        follow=True,
    )
    page = Page.objects.get(summary="CDG edge down")
    assert f"Page #{page.pk} sent" in answer.content.decode()
    assert page.ticket_id == ticket.pk and page.policy.team.slug == "ops"
    listing = client.get("/console/pages/").content.decode()
    assert "CDG edge down" in listing
    client.post(f"/console/pages/{page.pk}/ack/")
    page.refresh_from_db()
    assert page.status == "acknowledged"
    again = client.post(f"/console/pages/{page.pk}/ack/", follow=True).content.decode()
    assert "Cannot acknowledge" in again
