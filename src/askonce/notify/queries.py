"""Reads of sent mail (which thread a Message-ID belongs to, how much a sender was sent) and of
webhook endpoints and their deliveries."""

from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from askonce.core.batch import rows_waiting
from askonce.core.errors import Forbidden, NotFound
from askonce.notify.models import OutboundMail, WebhookDelivery, WebhookEndpoint


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
    """How many mails of this kind went to exactly this recipient in the last hours.

    Asked for every mail that opens a ticket (the acknowledgement's rate limit): one fixed
    statement on the (kind, recipients, created_at) index, not a query built by the ORM.
    """
    since = timezone.now() - timedelta(hours=hours)
    table = OutboundMail._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT COUNT(*) FROM "{table}" '  # noqa: S608 (the table's name from the model)
            'WHERE "kind" = %s AND "recipients" = %s AND "created_at" >= %s',
            [kind, recipient, connection.ops.adapt_datetimefield_value(since)],
        )
        stored = int(cursor.fetchone()[0])
    # Mail queued earlier in the same all-or-nothing batch is not written yet (core/batch.py).
    waiting = rows_waiting(OutboundMail)
    return stored + sum(1 for mail in waiting if mail.kind == kind and mail.recipients == recipient)


def person_has_webhooks(user: Any) -> bool:
    """Whether someone has a webhook of their own (a contact method) switched on."""
    return WebhookEndpoint.objects.filter(user=user, is_active=True).exists()


def visible_webhook_endpoints(user: Any) -> QuerySet[WebhookEndpoint]:
    """Admins see every endpoint; other staff their own contact methods."""
    if not user.is_authenticated or not user.is_active or not user.is_staff_member:
        raise Forbidden("Webhooks are for staff only.")
    endpoints = WebhookEndpoint.objects.select_related("user").order_by("name", "id")
    return endpoints if user.is_superuser else endpoints.filter(user=user)


def access_webhook_endpoint(user: Any, endpoint_id: int) -> WebhookEndpoint:
    endpoint = visible_webhook_endpoints(user).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"Webhook endpoint #{endpoint_id} not found.")
    return endpoint


def recent_deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.order_by("-id")[:limit])
