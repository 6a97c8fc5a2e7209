"""Queue mail. It is recorded with the change that caused it and sent by the worker after commit."""

import uuid

from django.conf import settings
from django.db import transaction
from django.tasks import task_backends
from django_tasks_db.backend import DatabaseBackend

from askonce.notify.models import OutboundMail
from askonce.notify.tasks import send_outbound_mail


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
    outbound = OutboundMail.objects.create(
        message_id=f"{uuid.uuid4().hex}@{settings.MAIL_DOMAIN}",
        thread=thread,
        kind=kind,
        recipients=", ".join(unique),
        subject=_one_line(subject),
        body=body,
        reply_to=_one_line(reply_to),
        from_email=_one_line(from_email),
    )
    if isinstance(task_backends["default"], DatabaseBackend):
        # The queue is a table: enqueued in the same transaction, the mail is sent if and only
        # if the change that caused it is committed, and it costs no second commit.
        send_outbound_mail.enqueue(outbound.pk)
    else:
        transaction.on_commit(lambda: send_outbound_mail.enqueue(outbound.pk), robust=True)
    return outbound
