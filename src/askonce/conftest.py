"""Shared fixtures: a real SMTP sink (aiosmtpd), factories named make_*, API clients."""

import itertools
import json
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message as MailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from askonce.accounts.actions import do_create_api_token, do_create_organization, do_create_user
from askonce.accounts.models import Organization, User
from askonce.accounts.queries import forget_cached_tokens
from askonce.teams.actions import do_add_member, do_create_team
from askonce.teams.models import Team
from askonce.tickets.actions import do_create_ticket
from askonce.tickets.models import Ticket

_numbers = itertools.count(1)


class Sink:
    """An SMTP server on loopback that keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[MailMessage] = []
        self.refused: set[str] = set()  # recipients answered "450 try again later"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "450 4.2.0 Mailbox busy; try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[MailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, smtp_sink: tuple[Sink, int], tmp_path: Any) -> None:
    # Tasks run as soon as they are enqueued (after commit); mail goes to the real SMTP sink.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp_sink[1], "timeout": 10},
        }
    }
    settings.BASE_URL = "http://testserver"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    forget_cached_tokens()  # each test has its own database rows


@pytest.fixture
def mailbox(smtp_sink: tuple[Sink, int]) -> Sink:
    smtp_sink[0].messages.clear()
    smtp_sink[0].refused.clear()
    return smtp_sink[0]


@pytest.fixture
def make_team(db: None) -> Callable[..., Team]:
    def make(slug: str | None = None, *, minutes: int = 60, name: str | None = None) -> Team:
        slug = slug or f"team{next(_numbers)}"
        existing = Team.objects.filter(slug=slug).first()
        if existing is not None:
            return existing
        return do_create_team(slug=slug, name=name or slug.title(), response_target_minutes=minutes)

    return make


@pytest.fixture
def make_organization(db: None) -> Callable[..., Organization]:
    def make(
        name: str | None = None, *, plan: str = "standard", domain: str | None = None
    ) -> Organization:
        number = next(_numbers)
        return do_create_organization(
            name=name or f"Customer {number}",
            plan=plan,
            domains=[domain or f"customer{number}.example"],
        )

    return make


@pytest.fixture
def make_contact(db: None, make_organization: Callable[..., Organization]) -> Callable[..., User]:
    def make(
        organization: Organization | None = None, *, email: str | None = None, name: str = ""
    ) -> User:
        organization = organization or make_organization()
        domain = organization.domains.first().domain  # type: ignore[union-attr]
        return do_create_user(
            email=email or f"contact{next(_numbers)}@{domain}",
            password="pw-contact-123",
            kind=User.Kind.CONTACT,
            full_name=name or "Casey Contact",
            organization=organization,
        )

    return make


@pytest.fixture
def make_staff(db: None, make_team: Callable[..., Team]) -> Callable[..., User]:
    def make(team: str = "support", *, email: str | None = None, name: str = "") -> User:
        user = do_create_user(
            email=email or f"staff{next(_numbers)}@example.com",
            password="pw-staff-123",
            kind=User.Kind.STAFF,
            full_name=name or f"Staff of {team}",
        )
        do_add_member(team=make_team(team), user=user)
        return user

    return make


@pytest.fixture
def make_ticket(db: None, make_contact: Callable[..., User]) -> Callable[..., Ticket]:
    def make(
        requester: User | None = None, *, subject: str = "Purge is slow", body: str = "Help"
    ) -> Ticket:
        requester = requester or make_contact()
        return do_create_ticket(subject=subject, body=body, requester=requester, actor=requester)

    return make


class ApiClient:
    """Calls /api/v1 as one user with a real bearer token."""

    def __init__(self, user: User) -> None:
        _, secret = do_create_api_token(user=user)
        self.user = user
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            f"/api/v1{path}", json.dumps(body or {}), content_type="application/json"
        )

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.put(f"/api/v1{path}", json.dumps(body), content_type="application/json")


@pytest.fixture
def api_as(db: None) -> Callable[[User], ApiClient]:
    return ApiClient
