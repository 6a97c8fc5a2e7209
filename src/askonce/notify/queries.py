"""Reads of sent mail: which thread a Message-ID belongs to, how much a sender was sent."""

from datetime import timedelta

from django.utils import timezone

from askonce.notify.models import OutboundMail


def thread_of(message_ids: list[str]) -> str:
    """The thread of the first of these Message-IDs that we sent, or ''."""
    if not message_ids:
        return ""
    found = dict(
        OutboundMail.objects.filter(message_id__in=message_ids).values_list("message_id", "thread")
    )
    for message_id in message_ids:
        if found.get(message_id):
            return found[message_id]
    return ""


def mails_sent_recently(*, recipient: str, kind: str, hours: int = 1) -> int:
    since = timezone.now() - timedelta(hours=hours)
    return OutboundMail.objects.filter(
        kind=kind, recipients=recipient, created_at__gte=since
    ).count()
