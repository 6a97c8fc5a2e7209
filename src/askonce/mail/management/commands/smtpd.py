"""`askonce smtpd`: receive mail over SMTP until stopped."""

import os
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from askonce.mail.smtp import make_server


class Command(BaseCommand):
    help = "Receive mail for the support, emergency and team addresses over SMTP."
    # The system checks import every URL and view (the API schemas, ~20 MB) that intake never
    # uses; `askonce serve` and `askonce check` run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=settings.SMTP_BIND)
        parser.add_argument("--port", type=int, default=settings.SMTP_PORT)
        parser.add_argument("--parent-pid", type=int, default=None, help=argparse_hidden())

    def handle(self, *args: Any, host: str, port: int, parent_pid: int | None, **opts: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        server = make_server(host, port)
        server.start()
        self.stdout.write(
            f"AskOnce SMTP intake on {host}:{port} for {settings.SUPPORT_ADDRESS}, "
            f"{settings.EMERGENCY_ADDRESS} and the team addresses."
        )
        self.stdout.flush()
        try:
            while not stop.wait(1.0):
                if parent_pid is not None and os.getppid() != parent_pid:
                    break
        finally:
            server.stop()


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
