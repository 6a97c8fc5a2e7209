"""The worker records missed response targets and delivers queued mail on its own."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from askonce.core.models import Event
from askonce.tickets.actions import (
    do_assign_to_team,
    do_claim_ticket,
    do_post_message,
    do_solve_ticket,
)
from askonce.tickets.models import ResponseMiss, Status
from askonce.tickets.queries import response_misses_by_team


@pytest.mark.django_db
def test_worker_records_a_missed_response_target_without_anyone_looking(
    make_ticket, make_staff, make_team
) -> None:
    """Ops lets its two-hour target pass: the worker records the miss once, and counts it."""
    make_team("ops", minutes=120)
    agent = make_staff("support")
    ticket = make_ticket()
    do_claim_ticket(ticket=ticket, actor=agent)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        ticket = do_assign_to_team(ticket=ticket, team=make_team("ops"), actor=agent)
        clock.shift(timedelta(minutes=119))
        call_command("worker", "--once")
        assert ResponseMiss.objects.count() == 0, "not yet due"

        clock.shift(timedelta(minutes=2))
        call_command("worker", "--once")
        call_command("worker", "--once")  # a second run (or a second worker) records nothing more

    misses = Event.objects.filter(verb="ticket.team_response_missed", subject_id=ticket.pk)
    assert misses.count() == 1
    assert misses.get().data["team"] == "ops"
    assert response_misses_by_team()["ops"] == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.WITH_TEAM, "a miss escalates, it does not move the ticket"


@pytest.mark.django_db
def test_a_team_that_answers_in_time_is_never_counted(make_ticket, make_staff, make_team) -> None:
    ops = make_team("ops", minutes=60)
    agent, omar = make_staff("support"), make_staff("ops")
    ticket = make_ticket()
    do_claim_ticket(ticket=ticket, actor=agent)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        do_assign_to_team(ticket=ticket, team=ops, actor=agent)
        clock.shift(timedelta(minutes=30))
        do_post_message(ticket=ticket, author=omar, body="On it", visibility="internal")
        clock.shift(timedelta(hours=5))
        call_command("worker", "--once")
    assert ResponseMiss.objects.count() == 0


@pytest.mark.django_db
def test_worker_closes_tickets_solved_long_ago(make_ticket, make_staff, settings) -> None:
    settings.AUTO_CLOSE_DAYS = 3
    agent = make_staff("support")
    ticket = make_ticket()
    do_claim_ticket(ticket=ticket, actor=agent)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        do_solve_ticket(
            ticket=ticket, actor=agent, resolution="ok", decision="not_needed", reason="thanks"
        )
        clock.shift(timedelta(days=2))
        call_command("worker", "--once")
        ticket.refresh_from_db()
        assert ticket.status == Status.SOLVED
        clock.shift(timedelta(days=2))
        call_command("worker", "--once")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


@pytest.mark.django_db(transaction=True)
def test_queued_mail_waits_in_the_database_until_the_worker_sends_it(
    settings, make_ticket, make_staff, mailbox
) -> None:
    """With the database queue, a reply's mail is stored first and delivered by the worker."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    agent = make_staff("support")
    ticket = make_ticket()
    do_post_message(ticket=ticket, author=agent, body="Try purging by surrogate key.")
    # (The new ticket also queued its question for the question index.)
    mail_tasks = DBTaskResult.objects.filter(task_path__endswith="send_outbound_mail")
    assert mail_tasks.filter(status="READY").count() == 1
    assert not mailbox.messages

    call_command("worker", "--once")
    assert mail_tasks.filter(status="SUCCESSFUL").count() == 1
    delivered = mailbox.to(ticket.requester.email)
    assert len(delivered) == 1
    assert "surrogate key" in delivered[0].get_payload()
