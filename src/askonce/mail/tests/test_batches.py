"""Messages that arrive together are stored together (`do_receive_mails`): all or nothing first,
then one by one when anything in the batch fails."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from askonce.accounts.models import User
from askonce.accounts.queries import known_person, people_looked_up
from askonce.mail.actions import Intake, MailRejected, do_receive_mails
from askonce.mail.models import InboundMail, Outcome
from askonce.notify.models import OutboundMail
from askonce.tickets.models import Ticket


@pytest.fixture
def acme(make_organization, make_contact, make_staff):
    organization = make_organization("Acme Streaming", plan="premium", domain="acme.example")
    return {
        "alice": make_contact(organization, email="alice@acme.example", name="Alice Archer"),
        "sam": make_staff("support", email="sam@example.com", name="Sam Rivera"),
    }


def _message(sender: str, subject: str, message_id: str | None = None) -> dict[str, Any]:
    raw = (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id or subject.replace(' ', '-')}@mail.test>\r\n\r\n"
        f"About {subject}.\r\n"
    ).encode()
    return {
        "raw": raw,
        "envelope_sender": sender,
        "recipients": ["support@example.com"],
        "channel": "smtp",
    }


def _statements(captured: CaptureQueriesContext, word: str) -> int:
    # Statements prepared on the server (core/rows.py, PostgreSQL) are logged by Django as
    # "QUERY = '<statement>' - PARAMS = ...".
    return sum(
        1
        for query in captured.captured_queries
        if query["sql"].removeprefix("QUERY = '").startswith(word)
    )


@pytest.mark.django_db
def test_a_batch_of_new_tickets_goes_in_without_a_savepoint_per_message(acme) -> None:
    batch = [_message(f"new{index}@newco.example", f"Batch {index}") for index in range(4)]
    batch.append(_message("alice@acme.example", "Batch from Alice"))
    with CaptureQueriesContext(connection) as captured:
        outcomes = do_receive_mails(batch)
    assert all(isinstance(outcome, Intake) for outcome in outcomes), outcomes
    assert [outcome.outcome for outcome in outcomes] == [Outcome.TICKET_CREATED] * 5
    for outcome, message in zip(outcomes, batch, strict=True):
        assert isinstance(outcome, Intake)
        stored = InboundMail.objects.get(pk=outcome.inbound_id)
        assert bytes(stored.raw) == message["raw"]
        assert stored.ticket_id == outcome.ticket_id
        assert (
            Ticket.objects.get(pk=outcome.ticket_id).requester.email == message["envelope_sender"]
        )
    # One savepoint: the batch's own (the test runs inside a transaction); none per message,
    # none per new contact.
    assert _statements(captured, "SAVEPOINT") == 1
    # SQLite: per message, the contact (4 new), the ticket and its first message; per batch,
    # one INSERT each for the events, the mail to send and the kept raw mail. PostgreSQL draws
    # the new rows' ids ahead, so contacts, tickets and messages go in one INSERT per table too.
    # (The tests' task backend runs the one delivery task after commit instead of writing it.)
    if connection.vendor == "postgresql":
        assert _statements(captured, "INSERT") == 6
    else:
        assert _statements(captured, "INSERT") == 4 + 5 * 2 + 3
    assert OutboundMail.objects.filter(kind="acknowledgement").count() == 5
    assert User.objects.filter(email__endswith="@newco.example").count() == 4


@pytest.mark.django_db
def test_a_bad_message_fails_alone(acme) -> None:
    """Staff mail that answers nothing is refused; the batch is stored again one by one and the
    other messages are kept."""
    batch = [
        _message("first@newco.example", "Before"),
        _message("sam@example.com", "Staff out of the blue"),
        _message("second@newco.example", "After"),
    ]
    outcomes = do_receive_mails(batch)
    assert isinstance(outcomes[0], Intake) and isinstance(outcomes[2], Intake)
    assert isinstance(outcomes[1], MailRejected) and outcomes[1].code == 550
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["After", "Before"]
    assert InboundMail.objects.count() == 2  # the refused one is kept by the SMTP server's reply
    assert OutboundMail.objects.count() == 2


@pytest.mark.django_db
def test_two_copies_in_one_batch_are_one_message(acme) -> None:
    copy = _message("alice@acme.example", "Twice", message_id="twice")
    outcomes = do_receive_mails([copy, dict(copy)])
    assert isinstance(outcomes[0], Intake) and isinstance(outcomes[1], Intake)
    assert outcomes[0].outcome == Outcome.TICKET_CREATED
    assert outcomes[1].text == "2.0.0 Already received"
    assert outcomes[1].ticket_id == outcomes[0].ticket_id
    assert Ticket.objects.count() == 1 and InboundMail.objects.count() == 1


@pytest.mark.django_db
def test_a_message_stored_before_is_found_by_the_batch(acme) -> None:
    first = do_receive_mails([_message("alice@acme.example", "Again", message_id="again")])[0]
    outcomes = do_receive_mails(
        [_message("bob@newco.example", "Fresh"), _message("alice@acme.example", "Again", "again")]
    )
    assert isinstance(first, Intake) and isinstance(outcomes[1], Intake)
    assert outcomes[1].text == "2.0.0 Already received"
    assert outcomes[1].ticket_id == first.ticket_id
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_two_mails_from_one_new_sender_make_one_contact(acme) -> None:
    outcomes = do_receive_mails(
        [_message("carol@newco.example", "One"), _message("Carol@NewCo.example", "Two")]
    )
    assert all(isinstance(outcome, Intake) for outcome in outcomes), outcomes
    carol = User.objects.get(email="carol@newco.example")
    assert sorted(Ticket.objects.filter(requester=carol).values_list("subject", flat=True)) == [
        "One",
        "Two",
    ]


@pytest.mark.django_db
def test_a_batch_looks_its_senders_up_at_once(acme, django_assert_num_queries) -> None:
    from askonce.core.cache import clear_all_caches

    clear_all_caches()
    addresses = ["alice@acme.example", "nobody@elsewhere.example", "ALICE@acme.example"]
    with people_looked_up(addresses):
        with django_assert_num_queries(0):
            alice = known_person("alice@acme.example")
            nobody = known_person("nobody@elsewhere.example")
    assert alice is not None and alice.organization is not None
    assert alice.organization.name == "Acme Streaming"
    assert nobody is None


@pytest.mark.django_db
def test_a_follow_up_in_the_same_batch_threads_to_the_first_mail(acme) -> None:
    first = _message("dave@newco.example", "Printer down", message_id="first-of-two")
    follow_up = _message("dave@newco.example", "Also the scanner", message_id="second-of-two")
    follow_up["raw"] = follow_up["raw"].replace(
        b"Message-ID:", b"In-Reply-To: <first-of-two@mail.test>\r\nMessage-ID:"
    )
    outcomes = do_receive_mails([first, follow_up])
    assert isinstance(outcomes[0], Intake) and isinstance(outcomes[1], Intake)
    assert outcomes[0].outcome == Outcome.TICKET_CREATED
    assert outcomes[1].outcome == Outcome.MESSAGE_ADDED
    assert outcomes[1].ticket_id == outcomes[0].ticket_id


@pytest.mark.django_db
def test_the_acknowledgement_limit_counts_the_batch_own_mail(acme, settings) -> None:
    settings.ACKNOWLEDGEMENTS_PER_HOUR = 2
    batch = [_message("alice@acme.example", f"Flood {index}") for index in range(5)]
    outcomes = do_receive_mails(batch)
    assert all(isinstance(outcome, Intake) for outcome in outcomes), outcomes
    assert Ticket.objects.filter(subject__startswith="Flood").count() == 5
    assert OutboundMail.objects.filter(recipients="alice@acme.example").count() == 2
