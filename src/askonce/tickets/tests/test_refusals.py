"""Refusals: each answers with a clear message and changes nothing."""

import pytest

from askonce.core.models import Event
from askonce.tickets.models import Message, Status, Ticket

pytestmark = pytest.mark.django_db


def _snapshot(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return (
        ticket.status,
        ticket.owner_id,
        ticket.team_id,
        ticket.handoff_count,
        Message.objects.filter(ticket=ticket).count(),
        Event.objects.filter(subject_type="ticket", subject_id=ticket.pk).count(),
    )


@pytest.fixture
def claimed(make_ticket, make_staff, api_as):
    agent = api_as(make_staff("support"))
    ticket = make_ticket()
    agent.post(f"/tickets/{ticket.pk}/claim")
    return ticket, agent


def test_solve_without_documentation_decision_is_422(claimed) -> None:
    ticket, agent = claimed
    before = _snapshot(ticket)
    answer = agent.post(f"/tickets/{ticket.pk}/solve", {"resolution": "Done"})
    assert answer.status_code == 422
    assert "documentation" in answer.json()["detail"]
    assert _snapshot(ticket) == before


@pytest.mark.parametrize(
    "documentation, words",
    [
        ({"decision": "linked"}, "needs the article"),
        ({"decision": "not_needed"}, "needs a reason"),
        ({"decision": "maybe"}, "decision"),
    ],
)
def test_solve_with_incomplete_decision_is_422(claimed, documentation, words) -> None:
    ticket, agent = claimed
    before = _snapshot(ticket)
    answer = agent.post(
        f"/tickets/{ticket.pk}/solve", {"resolution": "Done", "documentation": documentation}
    )
    assert answer.status_code == 422
    assert words in answer.json()["detail"]
    assert _snapshot(ticket) == before


def test_assign_to_unknown_team_is_404_naming_the_known_teams(claimed, make_team) -> None:
    make_team("ops")
    ticket, agent = claimed
    before = _snapshot(ticket)
    answer = agent.post(f"/tickets/{ticket.pk}/assign", {"team": "astrology", "note": "?"})
    assert answer.status_code == 404
    assert "astrology" in answer.json()["detail"] and "ops" in answer.json()["detail"]
    assert _snapshot(ticket) == before


def test_take_back_when_not_with_a_team_is_409(claimed) -> None:
    ticket, agent = claimed
    before = _snapshot(ticket)
    answer = agent.post(f"/tickets/{ticket.pk}/take-back")
    assert answer.status_code == 409
    detail = answer.json()["detail"]
    assert "'open'" in detail and "assign" in detail and "solve" in detail
    assert _snapshot(ticket) == before


def test_no_transition_leaves_closed(claimed) -> None:
    ticket, agent = claimed
    agent.post(
        f"/tickets/{ticket.pk}/solve",
        {"resolution": "ok", "documentation": {"decision": "needed"}},
    )
    assert agent.post(f"/tickets/{ticket.pk}/close").json()["status"] == "closed"
    before = _snapshot(ticket)
    for action, body in [
        ("claim", None),
        ("assign", {"team": "support"}),
        ("take-back", None),
        ("pending", None),
        ("reopen", None),
        ("close", None),
        ("solve", {"resolution": "x", "documentation": {"decision": "needed"}}),
    ]:
        answer = agent.post(f"/tickets/{ticket.pk}/{action}", body)
        assert answer.status_code in (409, 422), (action, answer.content)
        if answer.status_code == 409:
            assert "'closed'" in answer.json()["detail"]
    assert _snapshot(ticket) == before
    assert ticket.status == Status.CLOSED


def test_contact_cannot_read_another_organizations_ticket(
    make_contact, make_ticket, api_as
) -> None:
    stranger = api_as(make_contact())
    ticket = make_ticket()
    assert stranger.get(f"/tickets/{ticket.pk}").status_code == 404
    assert stranger.get(f"/tickets/{ticket.pk}/events").status_code == 404
    assert stranger.post(f"/tickets/{ticket.pk}/messages", {"body": "hi"}).status_code == 404
    assert ticket.pk not in [t["id"] for t in stranger.get("/tickets").json()["items"]]


def test_contact_never_sees_internal_notes(make_contact, make_staff, make_ticket, api_as) -> None:
    contact = make_contact()
    agent = api_as(make_staff("support"))
    ticket = make_ticket(contact)
    agent.post(
        f"/tickets/{ticket.pk}/messages", {"body": "SECRET margin", "visibility": "internal"}
    )
    customer = api_as(contact)
    detail = customer.get(f"/tickets/{ticket.pk}")
    assert detail.status_code == 200
    assert "SECRET" not in detail.content.decode()
    assert customer.get(f"/tickets/{ticket.pk}/events").status_code == 403
    sneaky = customer.post(
        f"/tickets/{ticket.pk}/messages", {"body": "x", "visibility": "internal"}
    )
    assert sneaky.status_code == 403


def test_colleague_of_the_same_organization_sees_the_ticket(
    make_contact, make_ticket, api_as
) -> None:
    author = make_contact()
    colleague = make_contact(author.organization)
    ticket = make_ticket(author)
    assert api_as(colleague).get(f"/tickets/{ticket.pk}").status_code == 200


def test_ops_member_cannot_post_on_a_ticket_assigned_to_legal(
    make_ticket, make_staff, api_as
) -> None:
    agent = api_as(make_staff("support"))
    ops = api_as(make_staff("ops"))
    make_staff("legal")
    ticket = make_ticket()
    agent.post(f"/tickets/{ticket.pk}/claim")
    agent.post(f"/tickets/{ticket.pk}/assign", {"team": "legal"})
    before = _snapshot(ticket)
    answer = ops.post(f"/tickets/{ticket.pk}/messages", {"body": "hi", "visibility": "internal"})
    assert answer.status_code == 403
    assert "Legal" in answer.json()["detail"]
    assert _snapshot(ticket) == before
    assert ops.post(f"/tickets/{ticket.pk}/claim").status_code == 403


def test_contact_cannot_claim_or_solve(make_contact, make_ticket, api_as) -> None:
    contact = make_contact()
    ticket = make_ticket(contact)
    customer = api_as(contact)
    assert customer.post(f"/tickets/{ticket.pk}/claim").status_code == 403
    assert _snapshot(ticket)[0] == "new"


def test_unauthenticated_requests_are_401(client, make_ticket) -> None:
    ticket = make_ticket()
    answer = client.get(f"/api/v1/tickets/{ticket.pk}")
    assert answer.status_code == 401
    assert "Bearer" in answer.json()["detail"]
    bad = client.get("/api/v1/tickets", HTTP_AUTHORIZATION="Bearer ao_wrong")
    assert bad.status_code == 401


@pytest.mark.parametrize(
    "payload, words",
    [
        ({"subject": "", "body": "x"}, "subject must not be empty"),
        ({"subject": "Hi", "body": "   "}, "body must not be empty"),
        ({"subject": "Hi", "body": "x" * 100_001}, "limit is 100000"),
        ({"subject": "Hi", "body": "x", "priority": "panic"}, "priority"),
        ({"subject": "Hi"}, "body: Field required"),
    ],
)
def test_bad_ticket_input_is_422_and_creates_nothing(make_contact, api_as, payload, words) -> None:
    customer = api_as(make_contact())
    answer = customer.post("/tickets", payload)
    assert answer.status_code == 422, answer.content
    assert words in answer.json()["detail"]
    assert Ticket.objects.count() == 0


def test_malformed_json_is_a_clear_error(make_contact, api_as) -> None:
    customer = api_as(make_contact())
    answer = customer.client.post("/api/v1/tickets", "{not json", content_type="application/json")
    assert answer.status_code in (400, 422)
    assert "detail" in answer.json()
    assert Ticket.objects.count() == 0


def test_subject_line_breaks_never_become_headers(make_contact, api_as) -> None:
    customer = api_as(make_contact())
    answer = customer.post("/tickets", {"subject": "Hi\r\nBcc: evil@example.com", "body": "x"})
    assert answer.status_code == 201
    assert "\n" not in answer.json()["subject"] and "\r" not in answer.json()["subject"]
