"""Webhooks to a real HTTP receiver on loopback: signed, logged, retried with backoff."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from askonce.core.errors import InvalidInput
from askonce.notify.models import WebhookDelivery
from askonce.notify.webhooks import (
    RETRY_DELAYS_SECONDS,
    check_signature,
    do_create_webhook_endpoint,
    do_queue_webhooks,
    do_retry_due_webhooks,
)

PAGE = {"page": {"id": 7, "summary": "Purge broken in CDG"}}


@pytest.fixture
def queue(django_capture_on_commit_callbacks):
    """queue(event, user=None): record deliveries and run what the commit would set off."""

    def run(event: str = "page.triggered", user=None) -> list[WebhookDelivery]:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return do_queue_webhooks(event=event, data=PAGE, text="Page #7 triggered", user=user)

    return run


@pytest.mark.django_db
def test_a_signed_json_post_reaches_the_receiver(receiver, queue) -> None:
    """The receiver gets the event as JSON and can prove it came from us."""
    endpoint = do_create_webhook_endpoint(name="Incidents", url=receiver.url())
    [delivery] = queue()

    [received] = receiver.received
    assert received.headers["content-type"] == "application/json"
    signature = received.headers["x-askonce-signature"]
    expected = hmac.new(endpoint.secret.encode(), received.body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert check_signature(endpoint.secret, received.body, signature)
    assert not check_signature("another-secret-of-16+", received.body, signature)
    assert received.headers["x-askonce-event"] == "page.triggered"
    assert received.headers["x-askonce-delivery"] == str(delivery.pk)
    body = json.loads(received.body)
    assert body["event"] == "page.triggered" and body["page"] == PAGE["page"]
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.response_status == 200
    assert delivery.attempts == 1 and delivery.body.encode() == received.body


@pytest.mark.django_db
def test_a_slack_endpoint_gets_a_text_body(receiver, queue) -> None:
    do_create_webhook_endpoint(name="#oncall", url=receiver.url("/slack"), slack_format=True)
    queue()
    assert json.loads(receiver.to("/slack")[0].body) == {"text": "Page #7 triggered"}


@pytest.mark.django_db
def test_filters_and_personal_endpoints(receiver, queue, make_staff) -> None:
    """A shared endpoint gets the events it asked for; a person's own gets only theirs."""
    sam = make_staff("support")
    do_create_webhook_endpoint(
        name="Resolved only", url=receiver.url("/r"), events=["page.resolved"]
    )
    do_create_webhook_endpoint(name="All", url=receiver.url("/all"))
    do_create_webhook_endpoint(name="Sam's pager", url=receiver.url("/sam"), user=sam)
    queue("page.triggered")
    queue("page.resolved")
    queue("page.notify", user=sam)
    assert [json.loads(item.body)["event"] for item in receiver.to("/r")] == ["page.resolved"]
    assert len(receiver.to("/all")) == 2
    assert [json.loads(item.body)["event"] for item in receiver.to("/sam")] == ["page.notify"]


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_growing_delays(receiver, queue) -> None:
    """500, then 503, then 200: three attempts of the same body, ten seconds then a minute apart."""
    do_create_webhook_endpoint(name="Flaky", url=receiver.url())
    receiver.answers = [500, 503]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        [delivery] = queue()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
        assert delivery.next_attempt_at == timezone.now() + timedelta(seconds=10)

        clock.shift(timedelta(seconds=9))
        assert do_retry_due_webhooks() == 0, "not due yet"
        clock.shift(timedelta(seconds=1))
        assert do_retry_due_webhooks() == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 2)
        assert delivery.next_attempt_at == timezone.now() + timedelta(seconds=60)

        clock.shift(timedelta(seconds=60))
        call_command("worker", "--once")  # the worker's sweep makes the attempt
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("delivered", 3, "")
    assert len({item.body for item in receiver.received}) == 1
    assert [item.headers["x-askonce-delivery"] for item in receiver.received] == [
        str(delivery.pk)
    ] * 3


@pytest.mark.django_db
def test_it_gives_up_after_the_last_retry(receiver, queue) -> None:
    do_create_webhook_endpoint(name="Down", url=receiver.url())
    receiver.answers = [500] * 20
    with time_machine.travel(timezone.now(), tick=False) as clock:
        [delivery] = queue()
        for delay in RETRY_DELAYS_SECONDS:
            clock.shift(timedelta(seconds=delay))
            do_retry_due_webhooks()
        clock.shift(timedelta(days=1))
        assert do_retry_due_webhooks() == 0
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == len(RETRY_DELAYS_SECONDS) + 1
    assert "HTTP 500" in delivery.error
    assert len(receiver.received) == len(RETRY_DELAYS_SECONDS) + 1


@pytest.mark.django_db
def test_a_redirect_is_a_failure_not_a_new_address(receiver, queue) -> None:
    do_create_webhook_endpoint(name="Moved", url=receiver.url())
    receiver.answers = [302]
    [delivery] = queue()
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.response_status == 302
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_an_attempt_whose_worker_died_is_made_again(receiver) -> None:
    """A delivery left 'sending' by a killed worker is sent by the sweep once its lease ran out."""
    endpoint = do_create_webhook_endpoint(name="Incidents", url=receiver.url())
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="page.triggered",
        body="{}",
        status="sending",
        attempts=1,
        claimed_at=timezone.now() - timedelta(minutes=1),
    )
    assert do_retry_due_webhooks() == 0, "still within its lease"
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert do_retry_due_webhooks() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2


@pytest.mark.django_db
def test_only_http_urls_are_accepted() -> None:
    with pytest.raises(InvalidInput, match="http"):
        do_create_webhook_endpoint(name="Local file", url="file:///etc/passwd")


@pytest.mark.django_db(transaction=True)
def test_with_the_database_queue_the_retry_is_a_task_that_waits(settings, receiver) -> None:
    """With the default queue, the retry is a task held until its time, run by the worker."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    do_create_webhook_endpoint(name="Flaky", url=receiver.url())
    receiver.answers = [500]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with transaction.atomic():
            [delivery] = do_queue_webhooks(event="page.triggered", data=PAGE, text="")
        assert not receiver.received, "sent by the worker, not by the request"
        call_command("worker", "--once")
        assert len(receiver.received) == 1
        retry = DBTaskResult.objects.get(status="READY")
        assert retry.run_after == timezone.now() + timedelta(seconds=10)

        clock.shift(timedelta(seconds=5))
        call_command("worker", "--once")
        assert len(receiver.received) == 1
        clock.shift(timedelta(seconds=5))
        call_command("worker", "--once")
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.received) == 2
