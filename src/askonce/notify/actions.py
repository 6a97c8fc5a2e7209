"""Queue mail. It is recorded with the change that caused it and sent by the worker after commit."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import task_backends
from django.utils.json import normalize_json
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from askonce.core.batch import insert_row_later, with_the_rows
from askonce.core.rows import insert_row
from askonce.core.wakeup import wake_after_commit
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
    backend = task_backends["default"]
    if isinstance(backend, DatabaseBackend):
        # The queue is a table: enqueued in the same transaction, the mail is sent if and only
        # if the change that caused it is committed, and it costs no second commit.
        _insert_task_row(backend, task, argument)
    else:
        transaction.on_commit(lambda: task.enqueue(argument), robust=True)


_validated: set[tuple[str, str]] = set()


def _insert_task_row(backend: DatabaseBackend, task: Any, argument: Any) -> None:
    """`task.enqueue(argument)` on django_tasks_db's queue, with a prepared INSERT.

    Every batch of mail intake queues one delivery, and the backend's own enqueue builds its row
    through the ORM and a TaskResult twice: ~0.5 ms, a fifth of a small batch's CPU
    (bench/README.md). The row is the one the backend writes: the same fields, the task
    checked once by the backend, `run_after` as the library's pre_save receiver sets it, and
    the workers woken after commit as our `task_enqueued` receiver does (core/wakeup.py); the
    signal itself, which only that receiver and a debug log use, is not sent. A test compares
    the row with one the backend enqueues.
    """
    if (backend.alias, task.module_path) not in _validated:
        backend.validate_task(task)
        _validated.add((backend.alias, task.module_path))
    insert_row(
        DBTaskResult(
            args_kwargs=normalize_json({"args": [argument], "kwargs": {}}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after or get_date_max(),
            backend_name=backend.alias,
        ),
        receivers_done=True,
    )
    wake_after_commit()


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
