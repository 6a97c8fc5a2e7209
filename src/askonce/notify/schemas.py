"""Shapes of webhook endpoints and their delivery log in the API (django-ninja schemas)."""

from datetime import datetime

from ninja import Field, Schema

from askonce.notify.models import WebhookEndpoint


class WebhookIn(Schema):
    name: str = Field(..., max_length=100)
    url: str = Field(..., description="http:// or https://; the JSON body is POSTed here.")
    events: list[str] = Field(
        default_factory=list,
        description="Event names to send, e.g. `page.triggered`; empty sends every event.",
    )
    slack_format: bool = Field(False, description='Send `{"text": ...}` for chat webhooks.')
    personal: bool = Field(
        False, description="Your own contact method: only pages addressed to you (high urgency)."
    )
    secret: str | None = Field(None, description="16-128 characters; generated when left out.")


class WebhookOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    slack_format: bool
    owner: str | None = Field(..., description="The person it belongs to; null: shared.")
    is_active: bool
    created_at: datetime

    @staticmethod
    def resolve_owner(obj: WebhookEndpoint) -> str | None:
        return obj.user.email if obj.user is not None else None


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(..., description="Shown only now: check X-AskOnce-Signature with it.")


class DeliveryOut(Schema):
    id: int
    event: str
    status: str
    attempts: int
    response_status: int | None
    error: str
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
