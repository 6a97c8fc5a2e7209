"""Queue mail. It is recorded with the change that caused it and sent by the worker after commit."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import task_backends
from django_tasks_db.backend import DatabaseBackend

from askonce.core.batch import insert_row_later, with_the_rows
from askonce.core.rows import insert_row
from askonce.notify.models import OutboundMail
from askonce.notify.tasks import send_outbound_mail, send_outbound_mails


def _one_line(text: str) -> str:
    # A subject is a header: a line break in it would start a new header.
    return " ".join(text.split())[:255]


def thread_root_id(thread: str) -> str:
    """The Message-ID every mail of a thread refers to (`ticket-12@example.com`)."""
    return f"{thread}@{settings.MAIL_DOMAIN}"


def do_queue_email(
    *,
    recipients: list[str],
    subject: str,
    body: str,
    thread: str = "",
    kind: str = "",
    reply_to: str = "",
    from_email: str = "",
) -> OutboundMail | None:
    unique = sorted({address.strip().lower() for address in recipients if address.strip()})
    unique = [address for address in unique if "\n" not in address and "\r" not in address]
    if not unique:
        return None
    outbound = OutboundMail(
        message_id=f"{uuid.uuid4().hex}@{settings.MAIL_DOMAIN}",
        thread=thread,
        kind=kind,
        recipients=", ".join(unique),
        subject=_one_line(subject),
        body=body,
        reply_to=_one_line(reply_to),
        from_email=_one_line(from_email),
    )
    held = _held_mail.get()
    if held is not None:
        # Its id is needed only when the block ends (in a batch, written with the others then).
        held.append(insert_row_later(outbound))
    else:
        _enqueue_with_the_change(send_outbound_mail, insert_row(outbound).pk)
    return outbound


def _enqueue_with_the_change(task: Any, argument: Any) -> None:
    """Enqueue a delivery so that it runs if and only if the current change commits."""
    if isinstance(task_backends["default"], DatabaseBackend):
        # The queue is a table: enqueued in the same transaction, the mail is sent if and only
        # if the change that caused it is committed, and it costs no second commit.
        task.enqueue(argument)
    else:
        transaction.on_commit(lambda: task.enqueue(argument), robust=True)


# Mail queued inside `mail_sent_together()`, when one is open in this context.
_held_mail: ContextVar[list[OutboundMail] | None] = ContextVar("askonce_held_mail", default=None)


@contextmanager
def mail_sent_together() -> Iterator[None]:
    """Mail queued in the block is handed to the worker as one task when the block ends.

    For a batch that queues many mails in one transaction (mail intake's group commit: an
    acknowledgement per new ticket): one task row instead of one per mail, enqueued inside the
    caller's transaction, so the mail still goes out if and only if it commits. A mail whose
    savepoint was rolled back is skipped by the task. If the block raises, nothing is enqueued
    (the caller's transaction is expected to roll back). The task names the mails by their
    Message-IDs, known before they are written, so inside an all-or-nothing batch
    (core/batch.py) it is enqueued together with the batch's rows.
    """
    held: list[OutboundMail] = []
    token = _held_mail.set(held)
    try:
        yield
    finally:
        _held_mail.reset(token)
    if held:
        message_ids = [outbound.message_id for outbound in held]
        with_the_rows(lambda: _enqueue_with_the_change(send_outbound_mails, message_ids))
