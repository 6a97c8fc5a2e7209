"""Mail in through the built-in SMTP server, as a customer's mail server would send it."""

import smtplib

import pytest

from askonce.core.models import Event
from askonce.mail.models import InboundMail, Outcome
from askonce.tickets.actions import do_assign_to_team, do_claim_ticket, do_post_message
from askonce.tickets.models import Message, Ticket


@pytest.fixture
def acme(make_organization, make_contact, make_staff, make_team):
    organization = make_organization("Acme Streaming", plan="premium", domain="acme.example")
    make_team("ops", name="Operations")
    return {
        "alice": make_contact(organization, email="alice@acme.example", name="Alice Archer"),
        "sam": make_staff("support", email="sam@example.com", name="Sam Rivera"),
        "omar": make_staff("ops", email="omar@example.com", name="Omar Haddad"),
    }


def test_new_mail_opens_a_ticket_and_is_acknowledged(acme, send, mail, mailbox) -> None:
    """Alice writes to support@; a ticket opens, and she gets an answer she can reply to."""
    assert send(mail()) == {}
    ticket = Ticket.objects.get()
    assert ticket.requester == acme["alice"] and ticket.channel == "email"
    assert "Paris still serves the old file" in ticket.messages.get().body
    inbound = InboundMail.objects.get()
    assert inbound.outcome == Outcome.TICKET_CREATED and inbound.ticket == ticket
    assert inbound.raw.tobytes() if hasattr(inbound.raw, "tobytes") else inbound.raw
    acknowledgement = mailbox.to("alice@acme.example")[0]
    assert f"[#{ticket.pk}]" in acknowledgement["Subject"]
    assert acknowledgement["References"] == f"<ticket-{ticket.pk}@example.com>"
    assert acknowledgement["Reply-To"] == "support@example.com"
    assert acknowledgement["Auto-Submitted"] == "auto-replied"


def test_a_reply_to_a_notification_lands_on_the_ticket(acme, send, mail, mailbox) -> None:
    send(mail())
    ticket = Ticket.objects.get()
    mailbox.messages.clear()
    do_post_message(ticket=ticket, author=acme["sam"], body="Which POP do you see it from?")
    notification = mailbox.to("alice@acme.example")[0]

    reply = mail(
        subject=f"Re: {notification['Subject']}",
        body="We see it in CDG.\n\nOn Tue, Sam wrote:\n> Which POP do you see it from?",
        In_Reply_To=notification["Message-ID"],
        References=notification["References"] + " " + notification["Message-ID"],
    )
    send(reply)
    assert Ticket.objects.count() == 1
    latest = ticket.messages.order_by("-id").first()
    assert latest.author == acme["alice"] and latest.body == "We see it in CDG."
    assert latest.channel == "email" and latest.visibility == "public"


def test_a_reply_with_a_stripped_subject_still_threads(acme, send, mail, mailbox) -> None:
    send(mail())
    ticket = Ticket.objects.get()
    acknowledgement = mailbox.to("alice@acme.example")[0]
    send(mail(subject="thanks", body="One more detail.", In_Reply_To=acknowledgement["Message-ID"]))
    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 2


def test_the_subject_tag_threads_when_headers_are_gone(acme, send, mail) -> None:
    send(mail())
    ticket = Ticket.objects.get()
    send(mail(subject=f"Re: [#{ticket.pk}] Purge does not work", body="Still broken."))
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 2


def test_a_forged_tag_from_a_stranger_opens_a_new_ticket(
    acme, send, mail, make_organization
) -> None:
    send(mail())
    ticket = Ticket.objects.get()
    make_organization("Other Co", domain="other.example")
    send(
        mail(
            sender="mallory@other.example",
            subject=f"Re: [#{ticket.pk}] hi",
            body="Let me in",
            References=f"<ticket-{ticket.pk}@example.com>",
        )
    )
    assert ticket.messages.count() == 1, "nothing was added to Alice's ticket"
    forged = Ticket.objects.exclude(pk=ticket.pk).get()
    assert forged.requester.email == "mallory@other.example"
    assert f"referred to ticket #{ticket.pk}" in forged.messages.get().body


def test_the_same_message_twice_is_one_message(acme, send, mail) -> None:
    message = mail()
    send(message)
    send(message)
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    assert InboundMail.objects.count() == 1


def test_a_message_without_message_id_is_recognised_by_its_bytes(acme, send) -> None:
    raw = b"From: alice@acme.example\r\nTo: support@example.com\r\nSubject: no id\r\n\r\nHello\r\n"
    send(raw)
    send(raw)
    assert Ticket.objects.count() == 1


def test_out_of_office_creates_and_sends_nothing(acme, send, mail, mailbox) -> None:
    send(
        mail(subject="Out of Office: back Monday", body="I am away.", Auto_Submitted="auto-replied")
    )
    send(mail(subject="Automatic reply: Purge", body="Away"))
    assert Ticket.objects.count() == 0
    assert mailbox.messages == []
    assert set(InboundMail.objects.values_list("outcome", flat=True)) == {Outcome.AUTO_REPLY}


def test_a_bounce_is_recorded_on_the_ticket_and_opens_nothing(acme, send, mail, mailbox) -> None:
    send(mail())
    ticket = Ticket.objects.get()
    acknowledgement = mailbox.to("alice@acme.example")[0]
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n"
        "To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
        "Final-Recipient: rfc822; alice@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {acknowledgement['Message-ID']}\r\nSubject: {acknowledgement['Subject']}\r\n"
        "--B--\r\n"
    ).encode()
    send(bounce, sender="")
    assert Ticket.objects.count() == 1
    failure = Event.objects.get(verb="ticket.delivery_failed")
    assert failure.subject_id == ticket.pk and failure.data["recipient"] == "alice@acme.example"
    assert "user unknown" in failure.note


def test_unknown_recipient_is_refused_at_rcpt(acme, send, mail) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(mail(to="nobody@example.com"))
    code, text = refused.value.recipients["nobody@example.com"]
    assert code == 550 and b"no such mailbox" in text
    assert InboundMail.objects.count() == 0


def test_oversized_mail_is_refused_with_552(acme, send, mail) -> None:
    big = mail(body="x" * (3 * 1024 * 1024))
    with pytest.raises(smtplib.SMTPException) as refused:
        send(big)
    assert "552" in str(refused.value)
    assert Ticket.objects.count() == 0


def test_premium_emergency_opens_an_urgent_ticket_and_emits_the_event(acme, send, mail) -> None:
    send(mail(to="emergency@example.com", subject="Site down", body="All POPs return 503"))
    ticket = Ticket.objects.get()
    assert ticket.emergency and ticket.priority == "urgent"
    assert Event.objects.filter(verb="emergency_received", subject_id=ticket.pk).exists()


def test_standard_customer_at_emergency_gets_a_normal_ticket_and_an_explanation(
    acme, send, mail, mailbox, make_organization, make_contact
) -> None:
    bistro = make_organization("Bistro Maps", plan="standard", domain="bistro.example")
    make_contact(bistro, email="bob@bistro.example")
    send(mail(sender="bob@bistro.example", to="emergency@example.com", subject="Help now"))
    ticket = Ticket.objects.get()
    assert not ticket.emergency and ticket.priority == "normal"
    assert not Event.objects.filter(verb="emergency_received").exists()
    explanation = mailbox.to("bob@bistro.example")[0]
    assert "premium plan" in explanation.get_payload(decode=True).decode()


def test_failed_dkim_is_not_an_emergency(acme, send, mail) -> None:
    send(
        mail(
            to="emergency@example.com",
            subject="Site down",
            Authentication_Results="mx.example.com; dkim=fail header.d=acme.example; spf=pass",
        )
    )
    ticket = Ticket.objects.get()
    assert not ticket.emergency
    assert not Event.objects.filter(verb="emergency_received").exists()


def test_a_team_answers_by_mail_from_its_address(acme, send, mail, mailbox) -> None:
    """Omar replies to the hand-off mail; the reply goes to ops@ and returns the ticket."""
    send(mail())
    ticket = Ticket.objects.get()
    do_claim_ticket(ticket=ticket, actor=acme["sam"])
    mailbox.messages.clear()
    do_assign_to_team(ticket=ticket, team=acme["omar"].teams.get(), actor=acme["sam"], note="Logs?")
    handoff = mailbox.to("omar@example.com")[0]
    assert handoff["Reply-To"] == "ops@example.com"
    send(
        mail(
            sender="omar@example.com",
            to="ops@example.com",
            subject=f"Re: {handoff['Subject']}",
            body="Restarted the purge queue.",
            In_Reply_To=handoff["Message-ID"],
        )
    )
    ticket.refresh_from_db()
    assert ticket.status == "returned"
    note = ticket.messages.order_by("-id").first()
    assert note.author == acme["omar"] and note.visibility == "internal"


def test_our_internal_headers_are_not_believed(acme, send, mail) -> None:
    send(mail(X_AskOnce_Ticket="1", X_AskOnce_Staff="yes"))
    ticket = Ticket.objects.get()
    assert ticket.requester == acme["alice"]
    assert b"X-AskOnce-Staff" in bytes(InboundMail.objects.get().raw), (
        "the raw message is kept whole"
    )


def test_mail_from_our_own_address_is_ignored(acme, send, mail, mailbox) -> None:
    send(mail(sender="support@example.com", subject="loop"))
    assert Ticket.objects.count() == 0 and mailbox.messages == []
    assert InboundMail.objects.get().outcome == Outcome.LOOP


def test_concurrent_sessions_share_commits_without_mixing_answers(acme, intake) -> None:
    """Twenty sessions at once: each gets its own answer; a bad message spoils only itself."""
    import threading

    answers: dict[int, object] = {}

    def deliver(index: int) -> None:
        sender = "alice@acme.example" if index != 7 else ""
        raw = (
            (f"From: {sender}\r\n" if sender else "")
            + f"To: support@example.com\r\nSubject: Parallel {index}\r\n"
            + f"Message-ID: <parallel-{index}@mail.test>\r\n\r\nBody {index}\r\n"
        ).encode()
        with smtplib.SMTP("127.0.0.1", intake, timeout=30) as client:
            try:
                answers[index] = client.sendmail("alice@acme.example", ["support@example.com"], raw)
            except smtplib.SMTPDataError as error:
                answers[index] = error.smtp_code

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers[7] == 550
    assert all(answers[index] == {} for index in range(20) if index != 7)
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == sorted(
        f"Parallel {index}" for index in range(20) if index != 7
    )
    assert InboundMail.objects.filter(outcome=Outcome.REJECTED).count() == 1


def test_a_stalled_session_does_not_hold_up_the_others(acme, intake) -> None:
    """A batch waits a moment for sessions still sending, never for one that stalls or leaves."""
    import socket
    import time

    stalled = smtplib.SMTP("127.0.0.1", intake, timeout=30)
    stalled.ehlo()
    stalled.mail("alice@acme.example")
    stalled.rcpt("support@example.com")  # ...and no DATA for now
    gone = socket.create_connection(("127.0.0.1", intake), timeout=30)
    gone.recv(1024)
    gone.sendall(b"EHLO gone.test\r\nMAIL FROM:<alice@acme.example>\r\n")
    time.sleep(0.2)
    gone.close()  # disconnects in the middle of its message

    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", intake, timeout=30) as client:
        refused = client.sendmail(
            "alice@acme.example",
            ["support@example.com"],
            b"From: alice@acme.example\r\nTo: support@example.com\r\nSubject: Not held up\r\n"
            b"Message-ID: <not-held@mail.test>\r\n\r\nHello\r\n",
        )
    assert refused == {}
    assert time.monotonic() - started < 10  # answered while the other session still stalls
    assert Ticket.objects.filter(subject="Not held up").count() == 1

    stalled.data(
        b"From: alice@acme.example\r\nTo: support@example.com\r\nSubject: Late after all\r\n"
        b"Message-ID: <late@mail.test>\r\n\r\nHello\r\n"
    )
    stalled.quit()
    assert Ticket.objects.filter(subject="Late after all").count() == 1


def test_every_new_ticket_of_a_batch_is_acknowledged_once(acme, intake, mailbox) -> None:
    """Acknowledgements of one batch leave as one delivery task: each sender still gets theirs."""
    import threading

    senders = [f"customer{index}@newco.example" for index in range(8)]

    def deliver(sender: str) -> None:
        raw = (
            f"From: {sender}\r\nTo: support@example.com\r\nSubject: Hello from {sender}\r\n"
            f"Message-ID: <hello-{sender}>\r\n\r\nOur dashboard is blank.\r\n"
        ).encode()
        with smtplib.SMTP("127.0.0.1", intake, timeout=30) as client:
            client.sendmail(sender, ["support@example.com"], raw)

    threads = [threading.Thread(target=deliver, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Ticket.objects.filter(subject__startswith="Hello from").count() == 8
    for sender in senders:
        acknowledgements = mailbox.to(sender)
        assert len(acknowledgements) == 1, sender
        assert "We received your request" in acknowledgements[0].get_payload()


def test_writer_threads_store_batches_side_by_side(acme, transactional_db, settings) -> None:
    """ASKONCE_SMTP_DB_WRITERS on PostgreSQL: batches stored by writer threads, every session
    answered after its own batch's commit (on SQLite the setting is ignored: one writer)."""
    import threading

    from django.db import connection

    from askonce.mail.smtp import make_server
    from askonce.mail.tests.conftest import _free_port

    settings.SMTP_DB_WRITERS = 2
    port = _free_port()
    server = make_server("127.0.0.1", port)
    assert server.writers == (2 if connection.vendor == "postgresql" else 0)
    server.start()
    answers: dict[int, object] = {}

    def deliver(index: int) -> None:
        raw = (
            f"From: alice@acme.example\r\nTo: support@example.com\r\nSubject: Writer {index}\r\n"
            f"Message-ID: <writer-{index}@mail.test>\r\n\r\nBody {index}\r\n"
        ).encode()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for attempt in range(2):  # each session sends twice: the same message is one ticket
                answers[index * 10 + attempt] = client.sendmail(
                    "alice@acme.example", ["support@example.com"], raw
                )

    try:
        threads = [threading.Thread(target=deliver, args=(index,)) for index in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.stop()
    assert len(answers) == 24 and all(answer == {} for answer in answers.values())
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == sorted(
        f"Writer {index}" for index in range(12)
    )
    assert InboundMail.objects.count() == 12
