"""Webhooks: a signed JSON POST per endpoint, recorded with the change that caused it, sent by
the worker after commit, retried with growing delays, every attempt kept in the delivery log.

Receivers check `X-AskOnce-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with
the endpoint's secret, and may drop repeats by `X-AskOnce-Delivery` (a delivery whose worker
died mid-request is sent again: at least once, never silently lost).
"""

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.tasks import task, task_backends
from django.utils import timezone

from askonce.core.errors import InvalidInput
from askonce.core.text import clean_line
from askonce.notify.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-AskOnce-Signature"
EVENT_HEADER = "X-AskOnce-Event"
DELIVERY_HEADER = "X-AskOnce-Delivery"
USER_AGENT = "AskOnce-Webhooks/1"
# After the first attempt; then the delivery is marked failed.
RETRY_DELAYS_SECONDS = [10, 60, 300, 900, 3600]
TIMEOUT_SECONDS = 10
# An attempt still "sending" after this long died with its worker; it is made again.
SENDING_LEASE = timedelta(minutes=2)
# With a queue that holds tasks until their time the retry task is on its way; the sweep only
# picks up what is this late (a task lost with its queue, an enqueue that failed).
SWEEP_GRACE = timedelta(minutes=1)
MAX_RESPONSE_KEPT = 500


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: compare in constant time."""
    return hmac.compare_digest(sign(secret, body), header)


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(f"A webhook URL must start with http:// or https://; got {url!r}.")
    if len(url) > 2000:
        raise InvalidInput("A webhook URL can be at most 2000 characters long.")
    return url


def do_create_webhook_endpoint(
    *,
    name: str,
    url: str,
    events: Sequence[str] = (),
    slack_format: bool = False,
    user: Any = None,
    secret: str = "",
) -> WebhookEndpoint:
    """A new endpoint; its secret (generated unless given) signs every body sent to it."""
    name = clean_line(name, field="name", max_length=100)
    url = _check_url(url)
    cleaned_events = sorted({clean_line(event, field="event", max_length=64) for event in events})
    secret = secret.strip() or secrets.token_urlsafe(32)
    if len(secret) < 16 or len(secret) > 128:
        raise InvalidInput("A webhook secret must be 16 to 128 characters long.")
    return WebhookEndpoint.objects.create(
        name=name,
        url=url,
        secret=secret,
        events=cleaned_events,
        slack_format=slack_format,
        user=user,
    )


def do_disable_webhook_endpoint(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active"])
    return endpoint


def _body(endpoint: WebhookEndpoint, event: str, data: Mapping[str, Any], text: str) -> str:
    if endpoint.slack_format:
        return json.dumps({"text": text}, ensure_ascii=False)
    document = {"event": event, "occurred_at": timezone.now().isoformat(), **data}
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False)


def do_queue_webhooks(
    *, event: str, data: Mapping[str, Any], text: str, user: Any = None
) -> list[WebhookDelivery]:
    """Record a delivery for every active endpoint that wants `event`; they are sent after commit.

    `user` given: that person's own endpoints (their contact methods); None: the shared ones.
    `text` is the one-line message for Slack-format endpoints.
    """
    endpoints = WebhookEndpoint.objects.filter(is_active=True)
    endpoints = endpoints.filter(user=user) if user is not None else endpoints.filter(user=None)
    deliveries = [
        WebhookDelivery.objects.create(
            endpoint=endpoint, event=event, body=_body(endpoint, event, data, text)
        )
        for endpoint in endpoints
        if endpoint.wants(event)
    ]
    for delivery in deliveries:
        transaction.on_commit(
            lambda pk=delivery.pk: deliver_webhook.enqueue(pk),  # type: ignore[misc]
            robust=True,
        )
    return deliveries


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the body once; (HTTP status or None, what went wrong or '')."""
    body = delivery.body.encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked to be http(s)
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(endpoint.secret, body),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.pk),
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(MAX_RESPONSE_KEPT)
            return int(response.status), ""
    except urllib.error.HTTPError as error:
        answer = error.read(MAX_RESPONSE_KEPT).decode(errors="replace")
        error.close()
        return error.code, f"HTTP {error.code}: {answer}".strip()
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"{error.__class__.__name__}: {reason}"[:MAX_RESPONSE_KEPT]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to POST the signed body to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _claim(delivery_id: int, now: datetime) -> bool:
    """Take the next attempt of a pending, due delivery; False when someone else has it."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=WebhookDelivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    return claimed == 1


def do_deliver_webhook(delivery_id: int) -> str:
    """Make one attempt (if the delivery is due and nobody else is making it); record the outcome."""
    if not _claim(delivery_id, timezone.now()):
        return "nothing to do"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        status, problem = None, "the endpoint was disabled"
    else:
        status, problem = _post(endpoint, delivery)
    now = timezone.now()
    delivery.response_status = status
    if status is not None and 200 <= status < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.error = ""
        delivery.save(update_fields=["status", "delivered_at", "error", "response_status"])
        return "delivered"
    delivery.error = problem or f"HTTP {status}"
    if not endpoint.is_active or delivery.attempts > len(RETRY_DELAYS_SECONDS):
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.save(update_fields=["status", "error", "response_status"])
        logger.error("giving up on webhook delivery %d to %s: %s", delivery.pk, endpoint, problem)
        return "failed"
    delay = timedelta(seconds=RETRY_DELAYS_SECONDS[delivery.attempts - 1])
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = now + delay
    delivery.save(update_fields=["status", "next_attempt_at", "error", "response_status"])
    logger.warning(
        "webhook delivery %d to %s failed (%s); retry in %ds",
        delivery.pk,
        endpoint,
        delivery.error,
        delay.total_seconds(),
    )
    if _queue_holds_tasks():
        deliver_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk)
    return "retrying"


@task()
def deliver_webhook(delivery_id: int) -> str:
    """The worker's entry point: one attempt at one recorded delivery."""
    return do_deliver_webhook(delivery_id)


def _queue_holds_tasks() -> bool:
    return bool(task_backends[deliver_webhook.backend].supports_defer)


def do_retry_due_webhooks(*, limit: int = 100) -> int:
    """The worker's sweep: attempts whose task never came, and attempts whose worker died."""
    now = timezone.now()
    WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, claimed_at__lt=now - SENDING_LEASE
    ).update(status=WebhookDelivery.Status.PENDING, next_attempt_at=now)
    cutoff = now - SWEEP_GRACE if _queue_holds_tasks() else now
    due = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff
    ).order_by("next_attempt_at", "id")
    attempted = 0
    for delivery_id in list(due.values_list("pk", flat=True)[:limit]):
        if do_deliver_webhook(delivery_id) != "nothing to do":
            attempted += 1
    return attempted
