"""The SMTP front process: no Django in it, started again when it dies."""

import os
import signal
import smtplib
import subprocess
import sys
import time
from typing import Any

from askonce.mail.models import InboundMail
from askonce.mail.smtp import make_server
from askonce.mail.tests.conftest import _free_port
from askonce.tickets.models import Ticket


def test_the_front_imports_nothing_of_django() -> None:
    """It stays small (~25 MB): the protocol and the parser only."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, askonce.mail.smtp_front; "
            "print(sorted({name.split('.')[0] for name in sys.modules}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"},
    ).stdout
    assert "'aiosmtpd'" in loaded and "'email'" in loaded
    assert "django" not in loaded


def _send(port: int, subject: str) -> dict[str, Any]:
    raw = (
        f"From: alice@acme.example\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@mail.test>\r\n\r\nHello\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail("alice@acme.example", ["support@example.com"], raw)


def test_a_killed_front_is_started_again(transactional_db: None, settings: Any) -> None:
    settings.SUPPORT_ADDRESS = "support@example.com"
    port = _free_port()
    server = make_server("127.0.0.1", port)
    server.start()
    try:
        assert _send(port, "Before the kill") == {}
        first = server.front
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:  # the sender retries until the new front listens
            try:
                assert _send(port, "After the kill") == {}
                break
            except OSError:
                assert time.monotonic() < deadline, "no new front within 20 s"
                time.sleep(0.2)
        assert server.front is not None and server.front.pid != first.pid
    finally:
        server.stop()
    assert set(Ticket.objects.values_list("subject", flat=True)) == {
        "Before the kill",
        "After the kill",
    }
    assert InboundMail.objects.count() == 2


def test_a_port_in_use_is_a_clear_error(transactional_db: None) -> None:
    port = _free_port()
    first = make_server("127.0.0.1", port)
    first.start()
    try:
        second = make_server("127.0.0.1", port)
        try:
            second.start()
        except OSError as error:
            assert f"cannot listen on 127.0.0.1:{port}" in str(error)
            assert "in use" in str(error)
        else:
            second.stop()
            raise AssertionError("a second server started on a port in use")
    finally:
        first.stop()
