"""Mail in through an IMAP mailbox on a real Dovecot, as when a provider hosts support@."""

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from askonce.core import periodic
from askonce.mail import imap
from askonce.mail.actions import do_receive_mail
from askonce.mail.models import InboundMail, Outcome
from askonce.mail.tests.dovecot import PASSWORD, Dovecot, DovecotUnavailable
from askonce.tickets.models import Ticket

SEEN = "\\Seen"


def _start(**options: Any) -> Dovecot:
    try:
        return Dovecot(**options)
    except DovecotUnavailable as problem:
        message = f"IMAP tests need a local Dovecot: {problem}"
        if os.environ.get("ASKONCE_REQUIRE_IMAP"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = _start()
    yield server
    server.stop()


@pytest.fixture
def support_mailbox(dovecot: Dovecot, settings: Any) -> str:
    """A fresh, empty IMAP user for support@; the test's only configured mailbox."""
    user = dovecot.fresh_user()
    settings.IMAP_MAILBOXES = [dovecot.url(user)]
    return user


@pytest.fixture
def acme(transactional_db: None, settings: Any, make_organization, make_contact) -> dict:
    settings.MAIL_DOMAIN = "example.com"
    settings.SUPPORT_ADDRESS = "support@example.com"
    settings.EMERGENCY_ADDRESS = "emergency@example.com"
    organization = make_organization("Acme Streaming", plan="premium", domain="acme.example")
    return {"alice": make_contact(organization, email="alice@acme.example", name="Alice Archer")}


@pytest.fixture
def poll() -> Callable[[], imap.PollSummary]:
    """Poll the one configured mailbox, as the worker's periodic job does."""

    def run() -> imap.PollSummary:
        [summary] = imap.poll_all_mailboxes()
        assert not summary.error, summary.error
        return summary

    return run


def test_three_messages_become_three_tickets_and_are_flagged(
    acme, dovecot, support_mailbox, poll, mail
) -> None:
    """Three customer mails wait in support@'s mailbox; each becomes one ticket, once."""
    subjects = ["Purge does not work", "Invoice question", "TLS certificate expired"]
    for subject in subjects:
        dovecot.append(support_mailbox, mail(subject=subject, Return_Path="<bounces@acme.example>"))
    assert [SEEN in flags for flags in dovecot.flags(support_mailbox)] == [False] * 3

    summary = poll()
    assert summary.counts == {Outcome.TICKET_CREATED: 3}
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == sorted(subjects)
    assert all(SEEN in flags for flags in dovecot.flags(support_mailbox))
    inbound = InboundMail.objects.first()
    assert inbound is not None and inbound.channel == "imap"
    assert inbound.envelope_sender == "bounces@acme.example"
    assert inbound.recipients == "support@example.com"

    assert poll().counts == {}, "a second poll finds nothing new"
    assert Ticket.objects.count() == 3 and InboundMail.objects.count() == 3


def test_the_same_message_filed_twice_is_one_ticket(
    acme, dovecot, support_mailbox, poll, mail
) -> None:
    message = mail()
    dovecot.append(support_mailbox, message)
    dovecot.append(support_mailbox, message)
    summary = poll()
    assert summary.counts == {Outcome.TICKET_CREATED: 1, "already_received": 1}
    assert Ticket.objects.count() == 1 and InboundMail.objects.count() == 1
    assert all(SEEN in flags for flags in dovecot.flags(support_mailbox))


@pytest.mark.parametrize("message_id", [True, False], ids=["message-id", "no-message-id"])
def test_a_crash_between_commit_and_flag_neither_loses_nor_doubles(
    acme, dovecot, support_mailbox, poll, mail, message_id
) -> None:
    """The poller died after intake committed: the message is still unread on the server."""
    message = mail()
    if not message_id:
        del message["Message-ID"]  # then intake knows it again by its bytes
    dovecot.append(support_mailbox, message)
    [raw] = dovecot.contents(support_mailbox)
    # What the poll did before it died: intake committed the message, the flag never came.
    do_receive_mail(raw=raw, envelope_sender="", recipients=["support@example.com"], channel="imap")
    assert Ticket.objects.count() == 1
    assert SEEN not in dovecot.flags(support_mailbox)[0]

    assert poll().counts == {"already_received": 1}
    assert Ticket.objects.count() == 1 and InboundMail.objects.count() == 1
    assert SEEN in dovecot.flags(support_mailbox)[0]
    assert poll().counts == {}


def test_a_transient_fault_leaves_the_message_for_the_next_poll(
    acme, dovecot, support_mailbox, poll, mail, settings, tmp_path
) -> None:
    """The disk for attachments fails: that mail waits unread, the others go through."""
    with_log = mail(subject="Logs attached")
    with_log.add_attachment(b"GET /app.js 200", maintype="text", subtype="plain", filename="a.log")
    dovecot.append(support_mailbox, with_log)
    dovecot.append(support_mailbox, mail(subject="No attachment"))
    not_a_directory = tmp_path / "attachments"
    not_a_directory.write_text("a file where the attachment directory should be")
    settings.MEDIA_ROOT = str(not_a_directory)

    assert poll().counts == {"deferred": 1, Outcome.TICKET_CREATED: 1}
    assert list(Ticket.objects.values_list("subject", flat=True)) == ["No attachment"]
    assert [SEEN in flags for flags in dovecot.flags(support_mailbox)] == [False, True]

    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert poll().counts == {Outcome.TICKET_CREATED: 1}
    assert Ticket.objects.filter(subject="Logs attached").exists()
    assert all(SEEN in flags for flags in dovecot.flags(support_mailbox))


def test_move_mode_moves_processed_mail_to_the_folder(
    acme, dovecot, support_mailbox, poll, mail, settings
) -> None:
    settings.IMAP_MAILBOXES = [dovecot.url(support_mailbox, query="move=Processed%20mail")]
    dovecot.append(support_mailbox, mail())
    dovecot.append(support_mailbox, mail(subject="Second"))
    assert poll().counts == {Outcome.TICKET_CREATED: 2}
    assert dovecot.flags(support_mailbox) == []
    assert dovecot.flags(support_mailbox, "Processed mail") == [{SEEN}, {SEEN}]
    assert poll().counts == {}


@pytest.mark.parametrize("uidplus", [True, False], ids=["uidplus", "plain-expunge"])
def test_without_the_move_extension_mail_is_copied_then_expunged(
    acme, mail, settings, uidplus
) -> None:
    """An older server without MOVE: COPY, flag \\Deleted, then (UID) EXPUNGE."""
    capabilities = "IMAP4rev1 LITERAL+ SASL-IR ID IDLE" + (" UIDPLUS" if uidplus else "")
    server = _start(capabilities=capabilities, tls=False, users=1)
    try:
        legacy = server.fresh_user()
        settings.IMAP_MAILBOXES = [server.url(legacy, query="move=Done")]
        server.append(legacy, mail())
        server.append(legacy, mail(subject="Second"))
        [summary] = imap.poll_all_mailboxes()
        assert not summary.error and summary.counts == {Outcome.TICKET_CREATED: 2}
        assert server.flags(legacy) == []
        assert server.flags(legacy, "Done") == [{SEEN}, {SEEN}]
    finally:
        server.stop()


def test_a_wrong_password_names_the_mailbox_and_hides_the_password(
    acme, dovecot, support_mailbox, settings
) -> None:
    settings.IMAP_MAILBOXES = [dovecot.url(support_mailbox, password="not-the-password")]
    errors = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 mailbox"):
        call_command("imap-poll", "--once", stdout=io.StringIO(), stderr=errors)
    shown = errors.getvalue()
    assert f"imap://{support_mailbox}@127.0.0.1:{dovecot.port}/INBOX: FAILED" in shown
    assert f"login as {support_mailbox} refused" in shown and "Authentication failed" in shown
    assert "not-the-password" not in shown


def test_a_malformed_mailbox_url_is_named_without_its_password(settings) -> None:
    settings.IMAP_MAILBOXES = ["imap://support:hunter2@127.0.0.1:notaport/INBOX"]
    with pytest.raises(CommandError) as error:
        call_command("imap-poll", "--once", stdout=io.StringIO(), stderr=io.StringIO())
    assert "imap://support:***@127.0.0.1:notaport/INBOX" in str(error.value)
    assert "hunter2" not in str(error.value)
    settings.IMAP_MAILBOXES = ["imap://support:hunter/2@127.0.0.1/INBOX"]  # an unencoded /
    with pytest.raises(CommandError, match="percent-encode") as error:
        call_command("imap-poll", "--once")
    assert "hunter" not in str(error.value)
    settings.IMAP_MAILBOXES = ["imap://support:pw@127.0.0.1/INBOX?to=support@example.com&mov=X"]
    with pytest.raises(CommandError, match="unknown options mov"):
        call_command("imap-poll", "--once")


def test_a_mailbox_url_is_percent_decoded(settings) -> None:
    settings.SUPPORT_ADDRESS = "support@example.com"
    mailbox = imap.parse_mailbox_url(
        "imaps://help%40example.com:p%40ss%2Cw%3Ard@imap.example.com/Support%20Inbox?move=Done"
    )
    assert (mailbox.user, mailbox.password) == ("help@example.com", "p@ss,w:rd")
    assert (mailbox.host, mailbox.port, mailbox.folder) == (
        "imap.example.com",
        993,
        "Support Inbox",
    )
    assert (mailbox.recipient, mailbox.move_to) == ("support@example.com", "Done")
    assert "p@ss" not in repr(mailbox) and "p@ss" not in mailbox.name
    with pytest.raises(imap.MailboxError, match="move= names the folder that is polled"):
        imap.parse_mailbox_url("imap://u:pw@localhost/INBOX?move=INBOX")


def test_the_command_prints_a_summary(acme, dovecot, support_mailbox, mail) -> None:
    dovecot.append(support_mailbox, mail())
    output = io.StringIO()
    call_command("imap-poll", "--once", stdout=output)
    assert f"{support_mailbox}@127.0.0.1" in output.getvalue()
    assert "1 ticket_created" in output.getvalue()
    assert PASSWORD not in output.getvalue()


def test_a_reply_by_mail_threads_onto_the_ticket(
    acme, dovecot, support_mailbox, poll, mail, mailbox
) -> None:
    """Alice answers the acknowledgement from her mail client; it lands on her ticket."""
    dovecot.append(support_mailbox, mail())
    poll()
    ticket = Ticket.objects.get()
    acknowledgement = mailbox.to("alice@acme.example")[0]
    reply = mail(
        subject=f"Re: {acknowledgement['Subject']}",
        body="We see it in CDG.\n\nOn Tue, Support wrote:\n> We received your request",
        In_Reply_To=acknowledgement["Message-ID"],
        References=acknowledgement["References"] + " " + acknowledgement["Message-ID"],
    )
    dovecot.append(support_mailbox, reply)
    assert poll().counts == {Outcome.MESSAGE_ADDED: 1}
    assert Ticket.objects.count() == 1
    latest = ticket.messages.order_by("-id").first()
    assert latest is not None and latest.author == acme["alice"]
    assert latest.body == "We see it in CDG." and latest.channel == "email"


def test_refused_mail_is_kept_and_not_fetched_again(acme, dovecot, support_mailbox, poll) -> None:
    """A message intake refuses (no usable From) is stored for review and flagged, once."""
    raw = (
        b"To: support@example.com\r\nSubject: no sender\r\nMessage-ID: <x1@mail.test>\r\n\r\nHi\r\n"
    )
    dovecot.append(support_mailbox, raw)
    assert poll().counts == {"rejected": 1}
    kept = InboundMail.objects.get()
    assert kept.outcome == Outcome.REJECTED and kept.channel == "imap"
    assert "no usable From address" in kept.detail
    assert SEEN in dovecot.flags(support_mailbox)[0]
    assert poll().counts == {} and Ticket.objects.count() == 0


def test_imaps_with_a_trusted_certificate(
    acme, dovecot, support_mailbox, poll, mail, settings, monkeypatch
) -> None:
    if dovecot.certificate is None:
        pytest.skip("openssl is not installed, so the test server has no certificate")
    # The poller verifies certificates against the system's CAs; this one trusts the test CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.certificate))
    url = f"imaps://{support_mailbox}:{PASSWORD}@127.0.0.1:{dovecot.tls_port}/INBOX"
    settings.IMAP_MAILBOXES = [url]
    dovecot.append(support_mailbox, mail())
    assert poll().counts == {Outcome.TICKET_CREATED: 1}


def test_imaps_refuses_an_untrusted_certificate(
    acme, dovecot, support_mailbox, settings, tmp_path, monkeypatch
) -> None:
    if dovecot.certificate is None:
        pytest.skip("openssl is not installed, so the test server has no certificate")
    empty = tmp_path / "no-cas.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    url = f"imaps://{support_mailbox}:{PASSWORD}@127.0.0.1:{dovecot.tls_port}/INBOX"
    settings.IMAP_MAILBOXES = [url]
    [summary] = imap.poll_all_mailboxes()
    assert "cannot connect" in summary.error and "CERTIFICATE_VERIFY_FAILED" in summary.error


def test_mailboxes_for_an_address_that_is_not_ours_are_not_polled(
    acme, dovecot, support_mailbox, mail, settings
) -> None:
    """A typo in `to=` would refuse and flag every message; the poll stops before fetching."""
    settings.IMAP_MAILBOXES = [dovecot.url(support_mailbox, query="to=suport@example.com")]
    dovecot.append(support_mailbox, mail())
    [summary] = imap.poll_all_mailboxes()
    assert "suport@example.com is not one of our addresses" in summary.error
    assert SEEN not in dovecot.flags(support_mailbox)[0]


def test_the_poll_takes_at_most_its_limit(acme, dovecot, support_mailbox, mail) -> None:
    for number in range(3):
        dovecot.append(support_mailbox, mail(subject=f"Question {number}"))
    [summary] = imap.poll_all_mailboxes(limit=2)
    assert summary.counts == {Outcome.TICKET_CREATED: 2} and summary.more_waiting
    [summary] = imap.poll_all_mailboxes(limit=2)
    assert summary.counts == {Outcome.TICKET_CREATED: 1} and not summary.more_waiting


def test_the_worker_polls_only_when_mailboxes_are_configured(settings, monkeypatch) -> None:
    monkeypatch.setattr(periodic, "_jobs", {})  # a registry of its own for this test
    settings.IMAP_MAILBOXES = []
    imap.register()
    assert periodic.periodic_jobs() == []
    settings.IMAP_MAILBOXES = ["imap://support:pw@127.0.0.1:1143/INBOX"]
    settings.IMAP_POLL_SECONDS = 30
    imap.register()
    [job] = periodic.periodic_jobs()
    assert job.name == "mail.imap_poll" and job.every_seconds == 30
