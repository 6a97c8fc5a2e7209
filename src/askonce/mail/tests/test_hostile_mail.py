"""Hostile and broken mail through the real SMTP intake: a ticket people can read, or a refusal
the sender can read, and in every case the original kept."""

import base64
import hashlib
import os
import re
import shutil
import smtplib
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from askonce.mail.models import InboundMail, Outcome
from askonce.mail.smtp import make_server
from askonce.tickets.models import Attachment, Ticket


@dataclass(frozen=True)
class Hostile:
    """One hostile message and what the intake must make of it."""

    raw: bytes
    reads: tuple[str, ...] = ()  # words the ticket's body must contain
    never: tuple[str, ...] = ()  # words it must not (script content, addresses smuggled in)
    subject: str = ""  # words the ticket's subject must contain
    attachments: tuple[str, ...] = ()  # files the ticket must carry, by name
    requester: str = "alice@acme.example"
    refusal: str = ""  # for mail that must be refused: words of the 5xx reply
    envelope_sender: str = "alice@acme.example"  # MAIL FROM, sent as is


def _mail(
    case: str,
    body: bytes | None = b"The purge queue is stuck since noon.\r\n",
    *extra: bytes,
    **headers: str | bytes | None,
) -> bytes:
    """A message with the usual headers (a header given as None is left out) and `extra` lines.

    `body=None` sends headers only, without even the blank line that ends them.
    """
    fields: dict[str, str | bytes | None] = {
        "From": "Alice Archer <alice@acme.example>",
        "To": "support@example.com",
        "Subject": f"Hostile mail: {case}",
        "Date": "Tue, 03 Mar 2026 09:30:00 +0000",
        "Message-ID": f"<{case}@hostile.test>",
    }
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    lines = [
        name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        for name, value in fields.items()
        if value is not None
    ]
    head = b"\r\n".join([*lines, *extra]) + b"\r\n"
    return head if body is None else head + b"\r\n" + body


_MIME = b"MIME-Version: 1.0"


def _multipart(boundary: str) -> bytes:
    return f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode()


def _nested(case: str, depth: int) -> bytes:
    """`depth` multiparts inside one another around one text part; every boundary says BOUNDARY."""
    opening = b"".join(
        _multipart(f"BOUNDARY-{level}") + b"\r\n\r\n--BOUNDARY-%d\r\n" % level
        for level in range(1, depth)
    )
    closing = b"".join(b"--BOUNDARY-%d--\r\n" % level for level in reversed(range(1, depth)))
    text = b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe text at the very bottom.\r\n"
    body = b"--BOUNDARY-0\r\n" + opening + text + closing + b"--BOUNDARY-0--\r\n"
    return _mail(case, body, _MIME, _multipart("BOUNDARY-0"))


def _hostile_html() -> bytes:
    lines = [
        "<html><head><title>Hidden title</title><style>p { color: red }</style>",
        '<script>alert("in the head")</script></head><body>',
        "<p>Purge fails in Paris</p><script>alert(1)</script><img src=x onerror=alert(2)>",
        '<a href="javascript:alert(3)">Click here</a><svg onload=alert(4)><script>alert(5)</script></svg>',
        '<iframe src="javascript:alert(6)"><img src=x onerror=alert(7)></iframe>',
        # Mail clients run no scripts, so to them what is inside <noscript> is markup, not text.
        "<noscript><img src=x onerror=alert(8)></noscript><noembed><b onclick=alert(9)>x</b></noembed>",
        '<!-- <script>alert(10)</script> --><div style="background:url(javascript:alert(11))">Thanks</div>',
        "</body></html>",
    ]
    return "\r\n".join(lines).encode() + b"\r\n"


_INVALID_BASE64 = (
    b"VGhlIHB1cmdl!!IHF1ZXVlIGlz***IHN0dWNr\r\nIHNpbmNlIG5vb24u\r\n"  # junk, no padding
)
_PDF = b"JVBERi0xLjQKJcfsj6IK\r\n"  # the first bytes of a PDF


CORPUS: dict[str, Hostile] = {
    "unknown-charset": Hostile(
        _mail(
            "unknown-charset",
            b"Hello from a mail program nobody knows \xe9\xe8\r\n",
            _MIME,
            b'Content-Type: text/plain; charset="x-unknown"',
        ),
        reads=("Hello from a mail program nobody knows",),
    ),
    "utf8-with-invalid-bytes": Hostile(
        _mail(
            "utf8-with-invalid-bytes",
            b"The purge \xff\xfe fails \xc3 in Paris\r\n",
            _MIME,
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: 8bit",
        ),
        reads=("The purge", "fails", "in Paris"),
    ),
    "latin1-declared-as-utf8": Hostile(
        _mail(
            "latin1-declared-as-utf8",
            "Café crème: the purge fails\r\n".encode("latin-1"),
            _MIME,
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: 8bit",
        ),
        reads=("Caf", "the purge fails"),
    ),
    "unknown-charset-in-subject": Hostile(
        _mail("unknown-charset-in-subject", Subject="=?x-unknown?q?Caf=E9_is_down?="),
        subject="is down",
        reads=("purge queue is stuck",),
    ),
    "broken-encoded-word-in-subject": Hostile(
        _mail("broken-encoded-word-in-subject", Subject="=?utf-8?b?!!!?= Edge 502s"),
        subject="Edge 502s",
        reads=("purge queue is stuck",),
    ),
    "no-from": Hostile(_mail("no-from", From=None), refusal="no usable From address"),
    "no-subject": Hostile(_mail("no-subject", Subject=None), subject="(no subject)"),
    "no-date": Hostile(_mail("no-date", Date=None), reads=("purge queue is stuck",)),
    "no-message-id": Hostile(_mail("no-message-id", Message_ID=None), reads=("queue is stuck",)),
    "empty-body": Hostile(_mail("empty-body", b""), reads=("(empty)",)),
    "only-headers": Hostile(_mail("only-headers", None), reads=("(empty)",)),
    "nested-50-levels": Hostile(
        _nested("nested-50-levels", 50), reads=("The text at the very bottom.",)
    ),
    # Deeper than Python's email parser can recurse: still a ticket, the original kept raw.
    "nested-1000-levels": Hostile(_nested("nested-1000-levels", 1000), reads=("nested",)),
    "missing-closing-boundary": Hostile(
        _mail(
            "missing-closing-boundary",
            b"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nThe text part.\r\n"
            b"--BOUNDARY\r\nContent-Type: application/pdf\r\n"
            b'Content-Disposition: attachment; filename="report.pdf"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n" + _PDF,
            _MIME,
            _multipart("BOUNDARY"),
        ),
        reads=("The text part.",),
        attachments=("report.pdf",),
    ),
    "invalid-base64-text": Hostile(
        _mail(
            "invalid-base64-text",
            _INVALID_BASE64,
            _MIME,
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: base64",
        ),
        reads=("The purge queue is stuck since noon.",),
    ),
    "invalid-base64-attachment": Hostile(
        _mail(
            "invalid-base64-attachment",
            b"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nThe trace is attached.\r\n"
            b"--BOUNDARY\r\nContent-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="trace.bin"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            b"@@@ this is not base64 at all @@@\r\n--BOUNDARY--\r\n",
            _MIME,
            _multipart("BOUNDARY"),
        ),
        reads=("The trace is attached.",),
        attachments=("trace.bin",),
    ),
    "invalid-quoted-printable": Hostile(
        _mail(
            "invalid-quoted-printable",
            b"Hello =ZZ wor=\r\nld =E9 and a lone =\r\n",
            _MIME,
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: quoted-printable",
        ),
        reads=("Hello", "world"),
    ),
    "subject-injection-quoted": Hostile(
        _mail(
            "subject-injection-quoted", Subject="=?utf-8?q?Hello=0D=0ABcc:_victim@evil.example?="
        ),
        subject="Hello",
    ),
    "subject-injection-base64": Hostile(
        _mail(
            "subject-injection-base64",
            Subject="=?utf-8?b?"
            + base64.b64encode(b"Hello\r\nBcc: victim@evil.example\r\n\r\nbody").decode()
            + "?=",
        ),
        subject="Hello",
    ),
    "html-only-with-scripts": Hostile(
        _mail(
            "html-only-with-scripts",
            _hostile_html(),
            _MIME,
            b"Content-Type: text/html; charset=utf-8",
        ),
        reads=("Purge fails in Paris", "Click here", "Thanks"),
        never=("alert", "javascript", "onerror", "onload", "onclick", "color: red", "Hidden title"),
    ),
    "html-only-unclosed-script": Hostile(
        _mail(
            "html-only-unclosed-script",
            b"<p>Visible words</p><script>alert(document.cookie)\r\n",
            _MIME,
            b"Content-Type: text/html; charset=utf-8",
        ),
        reads=("Visible words",),
        never=("alert", "cookie"),
    ),
    # RFC 5322 allows several authors only with a Sender; without one nobody can be the requester.
    "from-two-addresses": Hostile(
        _mail("from-two-addresses", From="alice@acme.example, mallory@evil.example"),
        refusal="no usable From address",
    ),
    "from-two-addresses-with-sender": Hostile(
        _mail(
            "from-two-addresses-with-sender",
            From="alice@acme.example, mallory@evil.example",
            Sender="alice@acme.example",
        ),
        reads=("purge queue is stuck",),
    ),
    "from-name-with-quotes-and-commas": Hostile(
        _mail(
            "from-name-with-quotes-and-commas",
            From='"Archer, Alice \\"The Boss\\", CTO" <alice@acme.example>',
        ),
        reads=("purge queue is stuck",),
    ),
    "from-name-that-is-our-address": Hostile(
        _mail("from-name-that-is-our-address", From='"support@example.com" <mallory@evil.example>'),
        requester="mallory@evil.example",
    ),
    "nul-bytes": Hostile(
        _mail(
            "nul-bytes",
            b"The purge\x00 queue is stuck\r\n",
            From=b'"Ali\x00ce" <alice@acme.example>',
            Subject=b"Purge\x00 fails",
        ),
        reads=("queue is stuck",),
        subject="fails",
    ),
    "nul-in-envelope-sender": Hostile(
        _mail("nul-in-envelope-sender"), envelope_sender="ali\x00ce@acme.example"
    ),
    "nul-in-attachment-type": Hostile(
        _mail(
            "nul-in-attachment-type",
            b"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nThe dump is attached.\r\n"
            b"--BOUNDARY\r\nContent-Type: application/x\x00dump\r\n"
            b'Content-Disposition: attachment; filename="core\x00.dump"\r\n\r\n'
            b"0000 1111\r\n--BOUNDARY--\r\n",
            _MIME,
            _multipart("BOUNDARY"),
        ),
        reads=("The dump is attached.",),
        attachments=("core",),
    ),
    # Longer than any address may be (RFC 5321), and than the column that would hold it.
    "from-address-300-chars": Hostile(
        _mail("from-address-300-chars", From="a" * 300 + "@acme.example"),
        refusal="no usable From address",
    ),
    "8bit-utf8-without-transfer-encoding": Hostile(
        _mail(
            "8bit-utf8-without-transfer-encoding",
            "Café crème: the purge fails\r\n".encode(),
            _MIME,
            b"Content-Type: text/plain; charset=utf-8",
        ),
        reads=("Café crème: the purge fails",),
    ),
    "8bit-without-any-mime-headers": Hostile(
        _mail("8bit-without-any-mime-headers", "Grüße, the purge fails\r\n".encode()),
        reads=("the purge fails",),
    ),
    "subject-100kb-folded": Hostile(
        _mail(
            "subject-100kb-folded",
            Subject="\r\n ".join(["Purge fails again and again"] * 3700),
        ),
        subject="Purge fails again and again",
    ),
    # RFC 5322 caps a line at 998 octets, but real senders exceed it and Postfix passes them on.
    "subject-100kb-one-line": Hostile(
        _mail("subject-100kb-one-line", Subject=" ".join(["Purge fails"] * 9000)),
        subject="Purge fails",
    ),
    "body-line-50kb": Hostile(
        _mail(
            "body-line-50kb",
            b"<p>" + b"Purge fails. " * 4000 + b"</p>\r\n",
            _MIME,
            b"Content-Type: text/html; charset=utf-8",
        ),
        reads=("Purge fails. Purge fails.",),
    ),
    "bare-lf-line-endings": Hostile(
        _mail("bare-lf-line-endings", b"The purge queue is stuck.\n" * 120).replace(b"\r\n", b"\n"),
        reads=("The purge queue is stuck.",),
    ),
    # A bare-LF dot does not end DATA: the "second message" is text of the first, not a ticket.
    "smtp-smuggling": Hostile(
        _mail(
            "smtp-smuggling",
            b"Hello\n.\nMAIL FROM:<mallory@evil.example>\r\nRCPT TO:<support@example.com>\r\n"
            b"DATA\r\nFrom: mallory@evil.example\r\nSubject: smuggled\r\n\r\nsmuggled\r\n",
        ),
        reads=("Hello",),
    ),
    "not-a-mail-at-all": Hostile(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\r\n", refusal="no usable From address"
    ),
    "message-id-900-chars": Hostile(
        _mail("message-id-900-chars", Message_ID="<" + "a" * 880 + "@hostile.test>"),
        reads=("purge queue is stuck",),
    ),
    "attachment-filename-traversal": Hostile(
        _mail(
            "attachment-filename-traversal",
            b"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n"
            b"--BOUNDARY\r\nContent-Type: text/plain\r\n"
            b"Content-Disposition: attachment; filename*=utf-8''..%2F..%2F..%2Fetc%2Fpasswd%00\r\n"
            b"\r\nroot:x:0:0\r\n--BOUNDARY--\r\n",
            _MIME,
            _multipart("BOUNDARY"),
        ),
        reads=("See the file.",),
        attachments=("passwd",),
    ),
}


def _on_the_wire(raw: bytes) -> bytes:
    """The bytes the server receives for `raw`: SMTP ends the data with CRLF."""
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


def _exchange(
    client: smtplib.SMTP,
    raw: bytes,
    *,
    sender: str = "alice@acme.example",
    to: str = "support@example.com",
) -> tuple[int, str]:
    """MAIL, RCPT and DATA with `raw` sent byte for byte (only CRLF-dot stuffed): the DATA reply."""
    client.ehlo_or_helo_if_needed()
    code, reply = client.docmd(f"MAIL FROM:<{sender}>")
    assert code == 250, reply
    code, reply = client.docmd(f"RCPT TO:<{to}>")
    assert code == 250, reply
    code, reply = client.docmd("DATA")
    assert code == 354, reply
    client.send(_on_the_wire(raw).replace(b"\r\n.", b"\r\n..") + b".\r\n")
    code, reply = client.getreply()
    return code, reply.decode("utf-8", "replace")


# A tag, not an address in angle brackets: "<mallory@evil.example>" is text people write.
_TAG = re.compile(r"<\s*/?\s*[a-z][a-z0-9:-]*(\s[^<>]*)?/?>|<!--|<!\[CDATA\[", re.IGNORECASE)
_MIME_HEADER = re.compile(r"(?im)^\s*(content-[a-z-]+|mime-version)\s*:")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _check(name: str, case: Hostile, code: int, reply: str) -> None:
    """The sender read a clear answer, the original is kept, and a ticket says something."""
    wire = _on_the_wire(case.raw)
    inbound = InboundMail.objects.filter(sha256=hashlib.sha256(wire).hexdigest()).first()
    assert inbound is not None, f"{name}: passed RCPT but nothing was kept ({code} {reply})"
    assert bytes(inbound.raw) == wire
    # PostgreSQL refuses NUL in text: one in a header must not make intake fail (4xx forever).
    for text in (inbound.envelope_sender, inbound.sender, inbound.subject, inbound.message_id):
        assert not _CONTROL.search(text), f"{name}: control characters in {text[:200]!r}"
    if case.refusal:
        assert 550 <= code <= 559 and case.refusal in reply, f"{name}: {code} {reply}"
        assert inbound.outcome == Outcome.REJECTED and case.refusal in inbound.detail
        assert inbound.ticket_id is None
        return
    assert code == 250 and "ticket #" in reply, f"{name}: {code} {reply}"
    assert inbound.outcome == Outcome.TICKET_CREATED
    ticket = Ticket.objects.select_related("requester").get(pk=inbound.ticket_id)
    assert ticket.requester.email == case.requester
    assert not _CONTROL.search(ticket.requester.full_name)
    assert ticket.subject.strip() and not _CONTROL.search(ticket.subject)
    assert "\r" not in ticket.subject and "\n" not in ticket.subject
    assert case.subject in ticket.subject, ticket.subject
    body = ticket.messages.get().body
    assert body.strip(), f"{name}: empty body"
    assert not _CONTROL.search(body), f"{name}: control characters in {body[:200]!r}"
    assert "BOUNDARY" not in body, f"{name}: a raw MIME boundary in {body[:200]!r}"
    assert not _MIME_HEADER.search(body), f"{name}: MIME headers in {body[:200]!r}"
    assert not _TAG.search(body), f"{name}: markup in {body[:300]!r}"
    for words in case.reads:
        assert words in body, f"{name}: {words!r} not in {body[:300]!r}"
    for words in case.never:
        assert words not in body, f"{name}: {words!r} in {body[:300]!r}"
    attachments = Attachment.objects.filter(message__ticket=ticket)
    names = [attachment.filename for attachment in attachments]
    for expected in case.attachments:
        assert any(expected in filename for filename in names), f"{name}: {names}"
    for attachment in attachments:
        assert not re.search(r"[/\\\x00-\x1f]", attachment.filename), attachment.filename
        assert re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", attachment.content_type)
        folder = Path(attachment.file.storage.location).resolve()
        assert Path(attachment.file.path).resolve().is_relative_to(folder), attachment.file.path


@pytest.fixture(autouse=True)
def _attachments_in_tmp(settings: Any, tmp_path: Path) -> Path:
    """Attachments go to a folder of the test's own, so the 20 MB one is gone afterwards."""
    settings.MEDIA_ROOT = tmp_path / "attachments"
    return settings.MEDIA_ROOT


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_mail_becomes_a_readable_ticket_or_a_clear_refusal(name: str, intake: int) -> None:
    """Whatever arrives, the sender gets a clear answer and support a ticket it can read."""
    with smtplib.SMTP("127.0.0.1", intake, timeout=30) as client:
        code, reply = _exchange(client, CORPUS[name].raw, sender=CORPUS[name].envelope_sender)
    _check(name, CORPUS[name], code, reply)
    assert InboundMail.objects.count() == 1
    assert Ticket.objects.count() == (0 if CORPUS[name].refusal else 1)


def test_the_intake_still_answers_after_the_whole_corpus(intake: int) -> None:
    """The whole corpus down one connection, then ordinary mail: still 250, nothing dropped."""
    with smtplib.SMTP("127.0.0.1", intake, timeout=60) as client:
        replies = {
            name: _exchange(client, case.raw, sender=case.envelope_sender)
            for name, case in CORPUS.items()
        }
        code, reply = _exchange(client, _mail("ordinary-after-the-corpus"))
        assert code == 250 and "ticket #" in reply, reply
    for name, (code, reply) in replies.items():
        _check(name, CORPUS[name], code, reply)
    with smtplib.SMTP("127.0.0.1", intake, timeout=30) as client:
        code, reply = _exchange(client, _mail("ordinary-on-a-new-connection"))
        assert code == 250 and "ticket #" in reply, reply
    assert InboundMail.objects.count() == len(CORPUS) + 2
    assert not Ticket.objects.filter(subject__icontains="smuggled").exists()


def test_an_injected_subject_adds_no_header_to_our_acknowledgement(intake: int, mailbox) -> None:
    """A subject smuggling "CR LF Bcc:" comes back to Alice as one line, and to nobody else."""
    with smtplib.SMTP("127.0.0.1", intake, timeout=30) as client:
        code, reply = _exchange(client, CORPUS["subject-injection-quoted"].raw)
    assert code == 250, reply
    ticket = Ticket.objects.get()
    assert "\r" not in ticket.subject and "\n" not in ticket.subject
    [acknowledgement] = mailbox.messages
    assert acknowledgement["X-Envelope-To"] == "alice@acme.example"
    assert acknowledgement.get_all("Bcc") is None
    # Read it as a mail client would: folding undone, encoded words decoded.
    subject = message_from_bytes(acknowledgement.as_bytes(), policy=policy.default)["Subject"]
    assert subject == f"[#{ticket.pk}] {ticket.subject}"
    assert "\r" not in subject and "\n" not in subject


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def roomy_intake(transactional_db: None, settings: Any) -> Iterator[int]:
    """The intake with room for a 20 MB file, which base64 makes a 27.4 MB message."""
    settings.MAIL_DOMAIN = "example.com"
    settings.SUPPORT_ADDRESS = "support@example.com"
    settings.EMERGENCY_ADDRESS = "emergency@example.com"
    settings.SMTP_MAX_BYTES = 30 * 1024 * 1024
    port = _free_port()
    server = make_server("127.0.0.1", port)
    server.start()
    yield port
    server.stop()


def test_a_20_mb_attachment_is_stored_whole(roomy_intake: int) -> None:
    """A customer sends a 20 MB capture; the ticket carries it, byte for byte."""
    content = os.urandom(20 * 1024 * 1024)
    raw = _mail(
        "twenty-megabytes",
        b"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nThe capture is attached.\r\n"
        b"--BOUNDARY\r\nContent-Type: application/vnd.tcpdump.pcap\r\n"
        b'Content-Disposition: attachment; filename="edge.pcap"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(content).replace(b"\n", b"\r\n")
        + b"--BOUNDARY--\r\n",
        _MIME,
        _multipart("BOUNDARY"),
    )
    assert len(raw) > 25 * 1024 * 1024, "base64 makes 20 MB of file more than 25 MB of mail"
    with smtplib.SMTP("127.0.0.1", roomy_intake, timeout=120) as client:
        code, reply = _exchange(client, raw)
    assert code == 250 and "ticket #" in reply, reply
    inbound = InboundMail.objects.get()
    assert inbound.size == len(raw)
    attachment = Attachment.objects.get(message__ticket=inbound.ticket_id)
    assert attachment.filename == "edge.pcap" and attachment.size == len(content)
    with attachment.file.open("rb") as stored:
        assert hashlib.sha256(stored.read()).digest() == hashlib.sha256(content).digest()
    assert "The capture is attached." in inbound.ticket.messages.get().body


def test_swaks_delivers_a_mail_with_an_attachment(intake: int, tmp_path: Path) -> None:
    """A mail sent with swaks, as an admin checks a new install, opens a ticket with its file."""
    swaks = shutil.which("swaks")
    if swaks is None:
        if os.environ.get("ASKONCE_REQUIRE_SWAKS"):
            pytest.fail("swaks is not installed (apt-get install -y swaks)")
        pytest.skip("swaks is not installed (apt-get install -y swaks)")
    log = tmp_path / "edge-errors.log"
    log.write_bytes(b"12:00:01 POP CDG 502 /app.js\n" * 200)
    result = subprocess.run(
        [
            swaks,
            "--server",
            f"127.0.0.1:{intake}",
            "--to",
            "support@example.com",
            "--from",
            "carol@globex.example",
            "--header",
            "Subject: Edge 502s since noon",
            "--body",
            "Every POP in France answers 502; the log is attached.",
            "--attach-type",
            "text/plain",
            "--attach",
            f"@{log}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"<-\s+250 2\.0\.0 Ok: ticket #\d+", result.stdout), result.stdout
    ticket = Ticket.objects.select_related("requester").get()
    assert ticket.requester.email == "carol@globex.example"
    assert ticket.subject == "Edge 502s since noon"
    assert "Every POP in France answers 502" in ticket.messages.get().body
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.filename == "edge-errors.log"
    with attachment.file.open("rb") as stored:
        assert stored.read() == log.read_bytes()
