"""Webhook endpoints of /api/v1: admins add shared ones, staff their own contact methods."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from askonce.core.errors import Forbidden
from askonce.notify import queries, webhooks
from askonce.notify.models import WebhookDelivery, WebhookEndpoint
from askonce.notify.schemas import DeliveryOut, WebhookCreatedOut, WebhookIn, WebhookOut

router = Router(tags=["webhooks"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get("/webhooks", response=list[WebhookOut], summary="List webhook endpoints")
def list_webhooks(request: HttpRequest) -> list[WebhookEndpoint]:
    return list(queries.visible_webhook_endpoints(_user(request)))


@router.post("/webhooks", response={201: WebhookCreatedOut}, summary="Add a webhook endpoint")
def create_webhook(request: HttpRequest, payload: WebhookIn) -> Status:
    user = _user(request)
    queries.visible_webhook_endpoints(user)  # staff only
    if not payload.personal and not user.is_superuser:
        raise Forbidden("Only admins add shared webhooks; add your own with personal: true.")
    endpoint = webhooks.do_create_webhook_endpoint(
        name=payload.name,
        url=payload.url,
        events=payload.events,
        slack_format=payload.slack_format,
        user=user if payload.personal else None,
        secret=payload.secret or "",
    )
    return Status(201, endpoint)


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    response=list[DeliveryOut],
    summary="The latest deliveries to an endpoint",
)
def list_deliveries(request: HttpRequest, endpoint_id: int) -> list[WebhookDelivery]:
    return queries.recent_deliveries(queries.access_webhook_endpoint(_user(request), endpoint_id))


@router.delete("/webhooks/{endpoint_id}", response={204: None}, summary="Switch an endpoint off")
def disable_webhook(request: HttpRequest, endpoint_id: int) -> Status:
    endpoint = queries.access_webhook_endpoint(_user(request), endpoint_id)
    webhooks.do_disable_webhook_endpoint(endpoint=endpoint)
    return Status(204, None)
