"""Queue notifications. Sending happens in the worker, after the change is committed."""

from django.db import transaction

from askonce.notify.tasks import send_email


def _one_line(text: str) -> str:
    # A subject is a header: a line break in it would start a new header.
    return " ".join(text.split())


def do_queue_email(
    *, recipients: list[str], subject: str, body: str, headers: dict[str, str] | None = None
) -> None:
    unique = sorted({address.strip().lower() for address in recipients if address.strip()})
    if not unique:
        return
    clean_subject = _one_line(subject)
    transaction.on_commit(
        lambda: send_email.enqueue(unique, clean_subject, body, headers or {}), robust=True
    )
