"""The nine steps of the hand-off loop, through the public API (DESIGN §2)."""

from collections.abc import Callable

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_nine_steps_through_the_api(
    make_contact, make_staff, make_organization, api_as, mailbox
) -> None:
    """A contact asks; support claims, hands to ops then neteng, and solves; everyone sees the right things."""
    acme = make_organization("Acme Streaming", plan="premium", domain="acme.example")
    alice = make_contact(acme, email="alice@acme.example")
    sam = make_staff("support", email="sam@example.com")
    omar = make_staff("ops", email="omar@example.com")
    nina = make_staff("neteng", email="nina@example.com")
    customer, agent, ops, neteng = api_as(alice), api_as(sam), api_as(omar), api_as(nina)

    # 1. The contact opens a ticket.
    created = customer.post(
        "/tickets", {"subject": "Purge does not work", "body": "Old file in Paris after purge."}
    )
    assert created.status_code == 201, created.content
    ticket_id = created.json()["id"]
    assert created.json()["status"] == "new"
    assert created.json()["requester_email"] == "alice@acme.example"

    # 2. An agent claims it.
    claimed = agent.post(f"/tickets/{ticket_id}/claim")
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["status"] == "open"
    assert claimed.json()["owner"] == "sam@example.com"

    # 3. Assigns it to ops with a note; the team's clock starts.
    assigned = agent.post(f"/tickets/{ticket_id}/assign", {"team": "ops", "note": "Edge logs?"})
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["status"] == "with_team"
    assert assigned.json()["team"] == "ops"
    assert assigned.json()["response_due_at"] is not None
    assert mailbox.to("omar@example.com"), "the ops team is told about the hand-off"

    # 4. An ops member posts an internal note: the ticket returns and the owner gets an email.
    mailbox.messages.clear()
    note = ops.post(
        f"/tickets/{ticket_id}/messages",
        {"body": "Purge queue was stuck in CDG; restarted.", "visibility": "internal"},
    )
    assert note.status_code == 201, note.content
    after_note = agent.get(f"/tickets/{ticket_id}").json()
    assert after_note["status"] == "returned"
    assert after_note["owner"] == "sam@example.com"
    owner_mail = mailbox.to("sam@example.com")
    assert owner_mail and f"[#{ticket_id}]" in owner_mail[0]["Subject"]
    assert not mailbox.to("alice@acme.example"), "internal notes never reach the customer"

    # 5. Take back.
    taken = agent.post(f"/tickets/{ticket_id}/take-back")
    assert taken.json()["status"] == "open" and taken.json()["team"] is None

    # 6. Assign to neteng.
    assert agent.post(f"/tickets/{ticket_id}/assign", {"team": "neteng"}).json()["status"] == (
        "with_team"
    )

    # 7. A neteng member replies publicly: the contact sees it and gets it by mail.
    reply = neteng.post(
        f"/tickets/{ticket_id}/messages",
        {"body": "Fixed a routing issue in Paris.", "visibility": "public"},
    )
    assert reply.status_code == 201
    seen_by_customer = customer.get(f"/tickets/{ticket_id}").json()
    bodies = [m["body"] for m in seen_by_customer["messages"]]
    assert "Fixed a routing issue in Paris." in bodies
    assert "Purge queue was stuck in CDG; restarted." not in bodies
    assert all(m["visibility"] == "public" for m in seen_by_customer["messages"])
    assert mailbox.to("alice@acme.example")

    # 8. Take back, then solve with a documentation decision.
    assert agent.post(f"/tickets/{ticket_id}/take-back").json()["status"] == "open"
    solved = agent.post(
        f"/tickets/{ticket_id}/solve",
        {
            "resolution": "Routing fixed by neteng.",
            "documentation": {"decision": "not_needed", "reason": "One-off network incident"},
        },
    )
    assert solved.status_code == 200, solved.content
    body = solved.json()
    assert body["status"] == "solved"
    assert body["handoff_count"] == 2
    assert body["owner"] == "sam@example.com"
    assert body["documentation"] == {
        "decision": "not_needed",
        "article": None,
        "reason": "One-off network incident",
    }

    # 9. The events list every step, in order, and the owner never changed.
    events = agent.get(f"/tickets/{ticket_id}/events").json()
    verbs = [e["verb"] for e in events]
    assert [v for v in verbs if v != "ticket.message_posted"] == [
        "ticket.created",
        "ticket.claimed",
        "ticket.assigned",
        "ticket.team_responded",
        "ticket.taken_back",
        "ticket.assigned",
        "ticket.team_responded",
        "ticket.taken_back",
        "ticket.solved",
    ]
    assert verbs.count("ticket.message_posted") == 2  # the ops note and the neteng reply
    transitions = [(e["from_state"], e["to_state"]) for e in events if e["to_state"]]
    assert transitions[-1] == ("open", "solved")
    assert {e["actor"] for e in events if e["verb"] == "ticket.taken_back"} == {"sam@example.com"}


def test_customer_reply_reopens_a_pending_ticket(
    make_contact, make_staff, api_as, make_ticket, mailbox
) -> None:
    """An agent asks the customer something; the customer's answer puts the ticket back in play."""
    contact = make_contact()
    agent = api_as(make_staff("support"))
    ticket = make_ticket(contact)
    agent.post(f"/tickets/{ticket.pk}/claim")
    assert agent.post(f"/tickets/{ticket.pk}/pending").json()["status"] == "pending_customer"
    api_as(contact).post(f"/tickets/{ticket.pk}/messages", {"body": "Here are the logs."})
    assert agent.get(f"/tickets/{ticket.pk}").json()["status"] == "open"
    assert mailbox.to(agent.user.email), "the owner hears about the customer's reply"


def test_list_filters_by_status_team_and_owner(
    make_staff, api_as, make_ticket, make_team: Callable
) -> None:
    make_team("ops")
    agent = api_as(make_staff("support"))
    first, second, _ = make_ticket(), make_ticket(), make_ticket()
    agent.post(f"/tickets/{first.pk}/claim")
    agent.post(f"/tickets/{second.pk}/claim")
    agent.post(f"/tickets/{second.pk}/assign", {"team": "ops"})

    new = agent.get("/tickets", status="new").json()
    assert new["count"] == 1
    with_ops = agent.get("/tickets", team="ops").json()
    assert [t["id"] for t in with_ops["items"]] == [second.pk]
    mine = agent.get("/tickets", owner="me").json()
    assert {t["id"] for t in mine["items"]} == {first.pk, second.pk}
    assert agent.get("/tickets", limit=1).json()["count"] == 3


def test_openapi_document_is_served(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/tickets/{ticket_id}/take-back" in schema["paths"]
    assert "/api/v1/tickets/{ticket_id}/solve" in schema["paths"]
