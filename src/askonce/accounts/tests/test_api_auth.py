"""Signing in to the API: bearer tokens and browser sessions (with CSRF for writes)."""

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_signed_in_session_reads_the_api(make_contact, make_ticket) -> None:
    contact = make_contact()
    ticket = make_ticket(contact)
    browser = Client()
    browser.force_login(contact)
    answer = browser.get("/api/v1/tickets")
    assert answer.status_code == 200
    assert [t["id"] for t in answer.json()["items"]] == [ticket.pk]


def test_session_writes_need_the_csrf_token(make_contact) -> None:
    contact = make_contact()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(contact)
    body = json.dumps({"subject": "Hi", "body": "there"})
    refused = browser.post("/api/v1/tickets", body, content_type="application/json")
    assert refused.status_code in (401, 403)
    browser.get("/portal/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(
        "/api/v1/tickets", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content


def test_login_page_rejects_a_wrong_password_clearly(make_contact, client) -> None:
    contact = make_contact()
    answer = client.post("/login/", {"username": contact.email, "password": "nope"})
    assert answer.status_code == 200
    assert "do not match" in answer.content.decode()


def test_pages_need_a_sign_in(client) -> None:
    for path in ["/console/", "/portal/", "/console/tickets/1/"]:
        answer = client.get(path)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_contacts_are_sent_away_from_the_console(make_contact, client) -> None:
    client.force_login(make_contact())
    assert client.get("/console/")["Location"] == "/portal/"
