"""Monitoring tools page through here, unchanged but for the host they send to.

- `POST /v2/enqueue`: the PagerDuty Events API v2. Prometheus Alertmanager, Grafana, Kapacitor
  and others point their PagerDuty target's URL at it; `routing_key` chooses the policy.
- `POST /integrations/alertmanager`: Alertmanager's own webhook (version 4), one page per
  alert (`groupKey` + `fingerprint`), with the routing key as a bearer token (or in the URL,
  for tools that cannot set headers).

Routing keys are secrets: only their hashes are stored, and they are never logged.
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from askonce.core.errors import DomainError
from askonce.oncall.actions import do_record_routing_key_use
from askonce.oncall.models import EscalationPolicy, Page, RoutingKey, Urgency
from askonce.oncall.paging import do_acknowledge_page, do_resolve_page, do_trigger_page
from askonce.oncall.queries import open_page, routing_key_for
from askonce.oncall.transitions import can

logger = logging.getLogger(__name__)

PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
# PagerDuty's own mapping for dynamic notifications: critical and error wake someone up.
HIGH_SEVERITIES = {"critical", "error"}
ALERTMANAGER_LOW_SEVERITIES = {"warning", "warn", "info", "informational", "low", "none"}
MAX_DETAILS = 20_000


class InvalidEvent(Exception):
    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"")
    except RequestDataTooBig:
        raise InvalidEvent("The request body is too large.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidEvent("The body is not valid JSON.") from None


def _accept_key(key: str) -> RoutingKey | None:
    row = routing_key_for(key)
    if row is not None:
        do_record_routing_key_use(routing_key=row)
    return row


def _details(value: Any) -> str:
    if value in (None, "", {}, []):
        return ""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return text[:MAX_DETAILS]


# PagerDuty Events API v2


def _invalid(errors: list[str]) -> JsonResponse:
    return JsonResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status=400,
    )


@dataclass
class _PagerDutyEvent:
    action: str
    dedup_key: str
    summary: str = ""
    source: str = ""
    severity: str = ""
    details: str = ""
    errors: list[str] = field(default_factory=list)


def _pagerduty_event(body: Any) -> _PagerDutyEvent:
    if not isinstance(body, dict):
        raise InvalidEvent("The event must be a JSON object.")
    action = body.get("event_action")
    if action not in PAGERDUTY_ACTIONS:
        raise InvalidEvent("'event_action' must be one of trigger, acknowledge, resolve.")
    dedup_key = body.get("dedup_key") or ""
    if not isinstance(dedup_key, str) or len(dedup_key) > 255:
        raise InvalidEvent("'dedup_key' must be a string of at most 255 characters.")
    event = _PagerDutyEvent(action=action, dedup_key=dedup_key.strip())
    if action != "trigger":
        if not event.dedup_key:
            raise InvalidEvent(f"'dedup_key' is required to {action}.")
        return event
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise InvalidEvent("'payload' is required for a trigger.")
    for name in ("summary", "source", "severity"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            event.errors.append(f"'payload.{name}' is missing or blank.")
    if event.errors:
        raise InvalidEvent(*event.errors)
    event.severity = payload["severity"].strip().lower()
    if event.severity not in PAGERDUTY_SEVERITIES:
        raise InvalidEvent(f"'payload.severity' must be one of {', '.join(PAGERDUTY_SEVERITIES)}.")
    event.summary = payload["summary"].strip()[:1024]
    event.source = payload["source"].strip()
    context = {name: payload[name] for name in ("component", "group", "class") if payload.get(name)}
    custom = payload.get("custom_details")
    if isinstance(custom, dict):
        context.update(custom)
    elif custom not in (None, ""):
        context["details"] = custom
    event.details = _details(context)
    return event


def _apply_pagerduty(policy: EscalationPolicy, event: _PagerDutyEvent) -> str:
    if event.action == "trigger":
        triggered = do_trigger_page(
            policy=policy,
            summary=event.summary,
            actor=None,
            urgency=Urgency.HIGH if event.severity in HIGH_SEVERITIES else Urgency.LOW,
            details=event.details,
            source=f"pagerduty: {event.source}",
            # PagerDuty makes up a key when the sender has none, and answers with it.
            dedup_key=event.dedup_key or uuid.uuid4().hex,
        )
        return triggered.page.dedup_key
    page = open_page(policy, event.dedup_key)
    # As PagerDuty does: acknowledging or resolving what is not open is accepted and ignored.
    if page is not None and can(event.action, page.status):
        change = do_acknowledge_page if event.action == "acknowledge" else do_resolve_page
        change(page=page, actor=None, via="pagerduty events api")
    return event.dedup_key


@csrf_exempt
@require_POST
def pagerduty_enqueue(request: HttpRequest) -> HttpResponse:
    """`POST /v2/enqueue`, answered like events.pagerduty.com."""
    try:
        body = _json_body(request)
        key = body.get("routing_key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key.strip():
            raise InvalidEvent("'routing_key' is required.")
        routing_key = _accept_key(key)
        if routing_key is None:
            # 400 as PagerDuty answers: a sender must not retry a wrong key forever.
            return _invalid(["Invalid routing key"])
        event = _pagerduty_event(body)
        dedup_key = _apply_pagerduty(routing_key.policy, event)
    except InvalidEvent as problem:
        return _invalid(problem.errors)
    except DomainError as problem:
        return _invalid([problem.message])
    return JsonResponse(
        {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
    )


# Alertmanager webhook (version 4)


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _alert_dedup_key(group_key: str, fingerprint: str) -> str:
    key = f"{group_key}/{fingerprint}"
    if len(key) <= 255:
        return key
    # Group keys grow with the grouping labels; past the column's size, use their digest.
    return f"{hashlib.sha256(group_key.encode()).hexdigest()}/{fingerprint}"[:255]


def _alert_summary(alert: dict[str, Any], common: dict[str, Any]) -> str:
    annotations = alert.get("annotations") or {}
    labels = alert.get("labels") or {}
    for text in (annotations.get("summary"), annotations.get("description")):
        if isinstance(text, str) and text.strip():
            return text.strip()[:1024]
    name = labels.get("alertname") or common.get("alertname") or "alert"
    where = labels.get("instance") or labels.get("job") or ""
    return f"{name} {where}".strip()[:1024]


def _alert_urgency(alert: dict[str, Any]) -> str:
    severity = str((alert.get("labels") or {}).get("severity", "")).lower()
    return Urgency.LOW if severity in ALERTMANAGER_LOW_SEVERITIES else Urgency.HIGH


def _check_alertmanager(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise InvalidEvent("The body must be a JSON object.")
    if str(body.get("version")) != "4":
        raise InvalidEvent(
            f"Only version 4 of the webhook is understood; got {body.get('version')!r}."
        )
    if not isinstance(body.get("groupKey"), str):
        raise InvalidEvent("'groupKey' is missing.")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(alert, dict) for alert in alerts):
        raise InvalidEvent("'alerts' must be a list of alerts.")
    for number, alert in enumerate(alerts, start=1):
        if alert.get("status") not in ("firing", "resolved"):
            raise InvalidEvent(f"alert {number}: 'status' must be firing or resolved.")
        if not isinstance(alert.get("fingerprint"), str) or not alert["fingerprint"]:
            raise InvalidEvent(f"alert {number}: 'fingerprint' is missing.")
    return alerts


def _apply_alert(
    policy: EscalationPolicy, alert: dict[str, Any], body: dict[str, Any]
) -> Page | None:
    dedup_key = _alert_dedup_key(body["groupKey"], alert["fingerprint"])
    if alert["status"] == "resolved":
        page = open_page(policy, dedup_key)
        if page is not None:
            page = do_resolve_page(page=page, actor=None, via="alertmanager")
        return page
    source = alert.get("generatorURL") or body.get("externalURL") or ""
    return do_trigger_page(
        policy=policy,
        summary=_alert_summary(alert, body.get("commonLabels") or {}),
        actor=None,
        urgency=_alert_urgency(alert),
        details=_details(
            {"labels": alert.get("labels") or {}, "annotations": alert.get("annotations") or {}}
        ),
        source=f"alertmanager: {source}" if source else "alertmanager",
        dedup_key=dedup_key,
    ).page


@csrf_exempt
@require_POST
def alertmanager_webhook(request: HttpRequest, routing_key: str = "") -> HttpResponse:
    """`POST /integrations/alertmanager` (bearer key) or `/integrations/alertmanager/<key>`."""
    row = _accept_key(routing_key or _bearer(request))
    if row is None:
        answer = JsonResponse(
            {"status": "error", "message": "A valid routing key is required (bearer token)."},
            status=401,
        )
        answer["WWW-Authenticate"] = 'Bearer realm="askonce"'
        return answer
    try:
        body = _json_body(request)
        alerts = _check_alertmanager(body)
        results = []
        for alert in alerts:
            page = _apply_alert(row.policy, alert, body)
            results.append(
                {
                    "fingerprint": alert["fingerprint"],
                    "page": page.pk if page is not None else None,
                    "status": page.status if page is not None else None,
                }
            )
    except InvalidEvent as problem:
        return JsonResponse({"status": "error", "message": str(problem)}, status=400)
    except DomainError as problem:
        return JsonResponse({"status": "error", "message": problem.message}, status=400)
    return JsonResponse({"status": "success", "pages": results})
