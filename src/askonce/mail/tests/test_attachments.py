"""Files that arrive by mail: stored with the message, served only to people who may read it."""

import pytest
from django.test import Client

from askonce.mail.actions import do_reprocess_mail, do_store_unprocessable_mail
from askonce.mail.models import InboundMail, Outcome
from askonce.tickets.models import Attachment, Ticket

HTML_PAYLOAD = b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture
def alice(make_organization, make_contact):
    acme = make_organization("Acme Streaming", plan="premium", domain="acme.example")
    return make_contact(acme, email="alice@acme.example")


def test_attachment_is_stored_and_served_only_as_a_download(
    alice, send, mail, make_staff, make_contact
) -> None:
    message = mail()
    message.add_attachment(
        HTML_PAYLOAD, maintype="text", subtype="html", filename="../../evil.html"
    )
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="log.pdf"
    )
    send(message)
    ticket = Ticket.objects.get()
    files = {a.filename: a for a in Attachment.objects.filter(message__ticket=ticket)}
    assert set(files) == {".._.._evil.html", "log.pdf"}
    evil = files[".._.._evil.html"]
    assert evil.size == len(HTML_PAYLOAD) and ".." not in evil.file.name

    agent = Client()
    agent.force_login(make_staff("support"))
    page = agent.get(f"/console/tickets/{ticket.pk}/")
    assert f"/attachments/{evil.pk}/" in page.content.decode()
    download = agent.get(f"/attachments/{evil.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == HTML_PAYLOAD

    owner = Client()
    owner.force_login(alice)
    assert owner.get(f"/attachments/{evil.pk}/").status_code == 200
    stranger = Client()
    stranger.force_login(make_contact())
    assert stranger.get(f"/attachments/{evil.pk}/").status_code == 404
    assert Client().get(f"/attachments/{evil.pk}/").status_code == 302  # sign in first


def test_a_rejected_mail_is_kept_and_can_be_processed_again(
    transactional_db, alice, settings
) -> None:
    settings.SUPPORT_ADDRESS = "support@example.com"
    raw = b"From: alice@acme.example\r\nTo: support@example.com\r\nSubject: kept\r\n\r\nHello\r\n"
    kept = do_store_unprocessable_mail(
        raw=raw,
        envelope_sender="alice@acme.example",
        recipients=["support@example.com"],
        channel="smtp",
        error="RuntimeError: a bug we have since fixed",
    )
    assert kept.outcome == Outcome.REJECTED and Ticket.objects.count() == 0
    result = do_reprocess_mail(inbound=kept)
    assert result is not None and result.outcome == Outcome.TICKET_CREATED
    assert Ticket.objects.get().subject == "kept"
    assert InboundMail.objects.get().outcome == Outcome.TICKET_CREATED
