"""Webhook endpoints through /api/v1: shared ones for admins, personal ones for anyone on staff."""

import pytest

from askonce.accounts.actions import do_create_user
from askonce.accounts.models import User
from askonce.notify.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(api_as):
    return api_as(
        do_create_user(
            email="ada@example.com", password="pw-admin-123", kind=User.Kind.STAFF, is_admin=True
        )
    )


def test_an_admin_adds_a_shared_endpoint_and_sees_its_log(admin, api_as, make_staff) -> None:
    created = admin.post(
        "/webhooks",
        {
            "name": "#pages",
            "url": "https://chat.example/hook",
            "slack_format": True,
            "events": ["page.triggered"],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner"] is None and body["events"] == ["page.triggered"]
    assert len(body["secret"]) >= 16
    assert "secret" not in admin.get("/webhooks").json()[0]
    assert admin.get(f"/webhooks/{body['id']}/deliveries").json() == []

    sam = api_as(make_staff("support"))
    refused = sam.post("/webhooks", {"name": "Mine?", "url": "https://x.example/"})
    assert refused.status_code == 403
    own = sam.post(
        "/webhooks", {"name": "My phone", "url": "https://ntfy.example/sam", "personal": True}
    )
    assert own.status_code == 201 and own.json()["owner"] == sam.user.email
    assert [item["name"] for item in sam.get("/webhooks").json()] == ["My phone"]
    assert sam.get(f"/webhooks/{body['id']}/deliveries").status_code == 404

    assert admin.client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 204
    assert not WebhookEndpoint.objects.get(pk=body["id"]).is_active
    assert admin.post("/webhooks", {"name": "x", "url": "ftp://x"}).status_code == 422


def test_customers_have_no_webhooks(api_as, make_contact) -> None:
    assert api_as(make_contact()).get("/webhooks").status_code == 403
