"""Monitoring tools page through the PagerDuty Events API v2 and Alertmanager's webhook."""

import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from askonce.oncall.actions import do_create_routing_key, do_revoke_routing_key
from askonce.oncall.models import Page

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing_key(support) -> str:
    return do_create_routing_key(policy=support.policy, name="prometheus", actor=None)[1]


def post(path: str, body: object, **headers: str):
    return Client().post(path, json.dumps(body), content_type="application/json", **headers)


def pagerduty(routing_key: str, action: str, dedup_key: str | None = None, **payload: str):
    body: dict = {"routing_key": routing_key, "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    if action == "trigger":
        body["payload"] = {
            "summary": "Disk 95% full on cdg-edge-3",
            "source": "cdg-edge-3",
            "severity": "critical",
            "custom_details": {"free": "5%"},
            **payload,
        }
    return post("/v2/enqueue", body)


def test_pagerduty_trigger_repeat_and_resolve_give_one_resolved_page(routing_key) -> None:
    """What Alertmanager's pagerduty_configs sends over an incident's life, against our URL."""
    first = pagerduty(routing_key, "trigger", "disk-cdg-edge-3")
    assert first.status_code == 202
    assert first.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "disk-cdg-edge-3",
    }
    assert pagerduty(routing_key, "trigger", "disk-cdg-edge-3").status_code == 202
    page = Page.objects.get()
    assert (page.status, page.urgency, page.trigger_count) == ("triggered", "high", 2)
    assert page.source == "pagerduty: cdg-edge-3" and '"free": "5%"' in page.details

    assert pagerduty(routing_key, "acknowledge", "disk-cdg-edge-3").status_code == 202
    assert pagerduty(routing_key, "acknowledge", "disk-cdg-edge-3").status_code == 202
    resolved = pagerduty(routing_key, "resolve", "disk-cdg-edge-3")
    assert resolved.status_code == 202 and resolved.json()["dedup_key"] == "disk-cdg-edge-3"
    assert pagerduty(routing_key, "resolve", "disk-cdg-edge-3").status_code == 202
    page = Page.objects.get()
    assert page.status == "resolved" and page.acknowledged_at is not None


def test_pagerduty_makes_up_a_dedup_key_and_maps_severity_to_urgency(routing_key) -> None:
    answer = pagerduty(routing_key, "trigger", severity="warning")
    key = answer.json()["dedup_key"]
    assert answer.status_code == 202 and len(key) == 32
    assert Page.objects.get(dedup_key=key).urgency == "low"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"event_action": "trigger"}, "'routing_key' is required."),
        ({"event_action": "explode"}, "'event_action' must be one of"),
        ({"event_action": "resolve"}, "'dedup_key' is required to resolve."),
        ({"event_action": "trigger", "payload": {"summary": "x"}}, "'payload.source' is missing"),
        (
            {
                "event_action": "trigger",
                "payload": {"summary": "x", "source": "y", "severity": "bad"},
            },
            "'payload.severity' must be one of",
        ),
    ],
)
def test_pagerduty_invalid_events_are_400(routing_key, body, error) -> None:
    if "routing_key" not in error:
        body = {"routing_key": routing_key, **body}
    answer = post("/v2/enqueue", body)
    assert answer.status_code == 400
    assert answer.json()["status"] == "invalid event"
    assert any(item.startswith(error) for item in answer.json()["errors"]), answer.json()
    assert Page.objects.count() == 0


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line written meanwhile, whatever the level (caplog may be switched off)."""
    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_wrong_or_revoked_routing_key_pages_nobody(support, routing_key, log_lines) -> None:
    wrong = pagerduty("0" * 32, "trigger", "x")
    assert wrong.status_code == 400 and wrong.json()["errors"] == ["Invalid routing key"]
    assert (
        Client().post("/v2/enqueue", b"not json", content_type="application/json").status_code
        == 400
    )
    alert = {"version": "4", "groupKey": "{}", "status": "firing", "alerts": []}
    assert (
        post("/integrations/alertmanager", alert, HTTP_AUTHORIZATION="Bearer nope").status_code
        == 401
    )
    assert post("/integrations/alertmanager/nope", alert).status_code == 401
    assert post("/integrations/alertmanager", alert).status_code == 401

    row = support.policy.routing_keys.get()
    do_revoke_routing_key(routing_key=row, actor=None)
    assert pagerduty(routing_key, "trigger", "x").status_code == 400
    assert Page.objects.count() == 0
    logging.getLogger("askonce.oncall.integrations").debug("probe")
    assert log_lines[-1] == "probe", "the log is being watched"
    assert not any(routing_key in line for line in log_lines)


def alertmanager(status: str, *alerts: tuple[str, str, str]) -> dict:
    """A version 4 body; alerts are (fingerprint, status, severity)."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "askonce",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": alert_status,
                "labels": {
                    "alertname": "HighLatency",
                    "instance": f"pop-{fingerprint}",
                    "severity": severity,
                },
                "annotations": {"summary": f"p99 latency above 2s on pop-{fingerprint}"},
                "startsAt": "2026-11-26T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": fingerprint,
            }
            for fingerprint, alert_status, severity in alerts
        ],
    }


def test_alertmanager_pages_per_alert_and_resolves_what_resolved(routing_key) -> None:
    """Two alerts fire (and fire again at the repeat interval); one resolves: two pages, one resolved."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {routing_key}"}
    firing = alertmanager("firing", ("cdg", "firing", "critical"), ("fra", "firing", "warning"))
    answer = post("/integrations/alertmanager", firing, **auth)
    assert answer.status_code == 200 and answer.json()["status"] == "success"
    assert post(f"/integrations/alertmanager/{routing_key}", firing).status_code == 200
    assert Page.objects.count() == 2
    cdg = Page.objects.get(dedup_key='{}:{alertname="HighLatency"}/cdg')
    assert (cdg.urgency, cdg.trigger_count) == ("high", 2)
    assert cdg.summary == "p99 latency above 2s on pop-cdg"
    assert cdg.source == "alertmanager: http://prometheus.example:9090/graph"
    assert Page.objects.get(dedup_key__endswith="/fra").urgency == "low"

    partly = alertmanager("firing", ("cdg", "resolved", "critical"), ("fra", "firing", "warning"))
    answer = post("/integrations/alertmanager", partly, **auth)
    assert [item["status"] for item in answer.json()["pages"]] == ["resolved", "triggered"]
    assert dict(Page.objects.values_list("dedup_key", "status")) == {
        '{}:{alertname="HighLatency"}/cdg': "resolved",
        '{}:{alertname="HighLatency"}/fra': "triggered",
    }


def test_alertmanager_bodies_it_does_not_understand_are_400(routing_key) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {routing_key}"}
    old = {**alertmanager("firing", ("cdg", "firing", "critical")), "version": "3"}
    assert post("/integrations/alertmanager", old, **auth).status_code == 400
    broken = alertmanager("firing", ("cdg", "exploded", "critical"))
    assert post("/integrations/alertmanager", broken, **auth).status_code == 400
    assert Page.objects.count() == 0
