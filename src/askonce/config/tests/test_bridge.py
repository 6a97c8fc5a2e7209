"""The ASGI entry point that `askonce serve` runs, driven in-process through httpx."""

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from askonce.config import asgi, bridge
from askonce.config.asgi import application
from askonce.tickets.actions import do_create_ticket, do_post_message
from askonce.tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, scope="module")
def _bridge_connections_closed() -> Iterator[None]:
    """As at the server's shutdown: the test database can then be dropped."""
    yield
    asgi._http.close_connections()


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1"
    )


def test_forms_cookies_and_redirects_survive_the_bridge(make_staff) -> None:
    make_staff("support", email="sam@example.com")

    async def scenario() -> tuple[int, str, int]:
        async with _client() as client:
            page = await client.get("/login/?next=/console/")
            token = page.cookies["csrftoken"]
            signed_in = await client.post(
                "/login/",
                data={
                    "username": "sam@example.com",
                    "password": "pw-staff-123",
                    "csrfmiddlewaretoken": token,
                    "next": "/console/?queue=mine",
                },
            )
            queue = await client.get(signed_in.headers["location"])
            return signed_in.status_code, signed_in.headers["location"], queue.status_code

    status, location, queue_status = asyncio.run(scenario())
    assert status == 302 and location == "/console/?queue=mine"
    assert queue_status == 200


def test_api_json_round_trip(make_staff, api_as) -> None:
    secret = api_as(make_staff("support")).client.defaults["HTTP_AUTHORIZATION"]

    async def scenario() -> httpx.Response:
        async with _client() as client:
            return await client.post(
                "/api/v1/tickets",
                content=json.dumps(
                    {"subject": "Bridge", "body": "x", "requester_email": "c@d.example"}
                ),
                headers={"Authorization": secret, "Content-Type": "application/json"},
            )

    answer = asyncio.run(scenario())
    assert answer.status_code == 201, answer.text
    assert Ticket.objects.get().subject == "Bridge"


def test_downloads_stream_whole(make_staff, make_contact) -> None:
    contact = make_contact()
    ticket = do_create_ticket(subject="Logs", body="see file", requester=contact, actor=contact)
    payload = bytes(range(256)) * 8192  # 2 MiB
    agent = make_staff("support", email="agent@example.com")
    do_post_message(
        ticket=ticket,
        author=agent,
        body="logs",
        attachments=[("logs.bin", "application/octet-stream", payload)],
    )
    attachment = Attachment.objects.get()

    async def scenario() -> httpx.Response:
        async with _client() as client:
            page = await client.get("/login/")
            await client.post(
                "/login/",
                data={
                    "username": "agent@example.com",
                    "password": "pw-staff-123",
                    "csrfmiddlewaretoken": page.cookies["csrftoken"],
                },
            )
            return await client.get(f"/attachments/{attachment.pk}/")

    download = asyncio.run(scenario())
    assert download.status_code == 200
    assert download.content == payload
    assert download.headers["content-disposition"].startswith("attachment")


def test_a_body_above_the_limit_is_refused_with_413(monkeypatch) -> None:
    monkeypatch.setattr(bridge, "MAX_BODY_BYTES", 1000)

    async def scenario() -> httpx.Response:
        async with _client() as client:
            return await client.post("/api/v1/tickets", content=b"x" * 5000)

    answer = asyncio.run(scenario())
    assert answer.status_code == 413
    assert answer.json() == {"detail": "Request body too large."}
