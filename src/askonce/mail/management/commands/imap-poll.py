"""`askonce imap-poll`: take new mail from the IMAP mailboxes, once or until stopped.

The file name has a hyphen so that the command is `imap-poll`, as documented: Django names
commands after their module files and imports them with importlib, which accepts it.
"""

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from askonce.mail.imap import (
    MAX_MESSAGES_PER_POLL,
    MailboxError,
    configured_mailboxes,
    poll_all_mailboxes,
)


class Command(BaseCommand):
    help = "Poll the IMAP mailboxes of ASKONCE_IMAP_MAILBOXES and take new mail into intake."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Poll every mailbox once, print what happened, and exit (1 if a mailbox failed).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.IMAP_POLL_SECONDS,
            help="Seconds between polls when not --once (default: %(default)s).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=MAX_MESSAGES_PER_POLL,
            help="At most this many messages per mailbox and poll (default: %(default)s).",
        )

    def handle(self, *args: Any, once: bool, interval: float, limit: int, **options: Any) -> None:
        try:
            mailboxes = configured_mailboxes()
        except MailboxError as error:
            raise CommandError(str(error)) from None
        if not mailboxes:
            raise CommandError("No mailboxes to poll: ASKONCE_IMAP_MAILBOXES is empty.")
        if once:
            summaries = poll_all_mailboxes(limit=limit)
            for summary in summaries:
                (self.stderr if summary.error else self.stdout).write(str(summary))
            failed = sum(1 for summary in summaries if summary.error)
            if failed:
                raise CommandError(f"{failed} of {len(summaries)} mailbox(es) failed.")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        names = ", ".join(mailbox.name for mailbox in mailboxes)
        self.stdout.write(f"AskOnce IMAP polling {names} every {interval:g}s.")
        self.stdout.flush()
        while not stop.is_set():
            poll_all_mailboxes(limit=limit)  # logs what it took in and what failed
            close_old_connections()  # as Django does between requests
            stop.wait(interval)
