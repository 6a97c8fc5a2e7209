"""A real SMTP intake server (aiosmtpd, on a loopback port) for the mail tests."""

import smtplib
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from askonce.mail.smtp import make_server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def intake(transactional_db: None, settings: Any) -> Iterator[int]:
    """The intake server's port; the server writes to the test database from its own thread."""
    settings.MAIL_DOMAIN = "example.com"
    settings.SUPPORT_ADDRESS = "support@example.com"
    settings.EMERGENCY_ADDRESS = "emergency@example.com"
    settings.SMTP_MAX_BYTES = 2 * 1024 * 1024
    port = _free_port()
    server = make_server("127.0.0.1", port)
    server.start()
    yield port
    server.stop()


@pytest.fixture
def send(intake: int) -> Callable[..., dict]:
    """send(message or bytes, to=..., sender=...) -> smtplib's refusals dict; raises on 4xx/5xx."""

    def deliver(
        message: EmailMessage | bytes, *, to: list[str] | None = None, sender: str | None = None
    ) -> Any:
        with smtplib.SMTP("127.0.0.1", intake, timeout=30) as client:
            if isinstance(message, bytes):
                return client.sendmail(
                    sender or "someone@example.net", to or ["support@example.com"], message
                )
            return client.send_message(message, from_addr=sender, to_addrs=to)

    return deliver


@pytest.fixture
def mail() -> Callable[..., EmailMessage]:
    def build(
        *,
        sender: str = "alice@acme.example",
        to: str = "support@example.com",
        subject: str = "Purge does not work",
        body: str = "We purged /app.js and Paris still serves the old file.",
        **headers: str,
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="mail.test")
        for name, value in headers.items():
            message[name.replace("_", "-")] = value
        message.set_content(body)
        return message

    return build
