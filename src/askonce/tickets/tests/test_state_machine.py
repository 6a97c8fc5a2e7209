"""Property tests: any sequence of actions keeps the hand-off loop's invariants."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from askonce.core.errors import DomainError, InvalidTransition
from askonce.core.models import Event
from askonce.tickets import actions
from askonce.tickets.models import Status, Ticket
from askonce.tickets.transitions import TRANSITIONS, allowed_actions

STEPS = [
    "claim",
    "assign",
    "team_note",
    "customer_reply",
    "take_back",
    "pending",
    "solve",
    "reopen",
    "close",
]


def test_every_state_names_its_allowed_actions() -> None:
    for status in Status.values:
        for action in allowed_actions(status):
            assert status in TRANSITIONS[action][0]
    assert allowed_actions(Status.CLOSED) == []


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(STEPS), min_size=1, max_size=14))
def test_random_sequences_keep_the_invariants(make_staff, make_ticket, make_team, steps) -> None:
    agent = make_staff("support", email=None)
    member = make_staff("ops")
    ops = make_team("ops")
    ticket = make_ticket()
    requester = ticket.requester
    first_owner = None
    assigns = 0
    for step in steps:
        before = Ticket.objects.get(pk=ticket.pk)
        events_before = Event.objects.filter(subject_id=ticket.pk, subject_type="ticket").count()
        try:
            if step == "claim":
                actions.do_claim_ticket(ticket=ticket, actor=agent)
            elif step == "assign":
                actions.do_assign_to_team(ticket=ticket, team=ops, actor=agent, note="look")
            elif step == "team_note":
                actions.do_post_message(
                    ticket=ticket, author=member, body="done", visibility="internal"
                )
            elif step == "customer_reply":
                actions.do_post_message(ticket=ticket, author=requester, body="more info")
            elif step == "take_back":
                actions.do_take_back(ticket=ticket, actor=agent)
            elif step == "pending":
                actions.do_set_pending(ticket=ticket, actor=agent)
            elif step == "solve":
                actions.do_solve_ticket(
                    ticket=ticket, actor=agent, resolution="ok", decision="needed"
                )
            elif step == "reopen":
                actions.do_reopen_ticket(ticket=ticket, actor=agent)
            elif step == "close":
                actions.do_close_ticket(ticket=ticket, actor=agent)
        except InvalidTransition as refusal:
            assert refusal.current == before.status
            after = Ticket.objects.get(pk=ticket.pk)
            assert (after.status, after.owner_id, after.team_id, after.handoff_count) == (
                before.status,
                before.owner_id,
                before.team_id,
                before.handoff_count,
            ), "a refused action changes nothing"
            assert (
                Event.objects.filter(subject_id=ticket.pk, subject_type="ticket").count()
                == events_before
            )
            continue
        except DomainError:
            after = Ticket.objects.get(pk=ticket.pk)
            assert after.status == before.status
            continue
        after = Ticket.objects.get(pk=ticket.pk)
        if step == "assign":
            assigns += 1
            assert after.response_due_at is not None and after.team_id == ops.pk
        if after.owner_id is not None:
            first_owner = first_owner or after.owner_id
            assert after.owner_id == first_owner, "the owner never changes once claimed"
        if after.status == Status.WITH_TEAM:
            assert after.team_id is not None and after.response_due_at is not None
        if after.status in (Status.OPEN, Status.PENDING_CUSTOMER):
            assert after.team_id is None
        assert after.handoff_count == assigns
