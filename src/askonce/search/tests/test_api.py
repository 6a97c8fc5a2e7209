"""GET /api/v1/search: the caller sees what their role and organization allow."""

import pytest
from django.test import Client

from askonce.search.actions import IndexedDocument, do_index_documents

pytestmark = pytest.mark.django_db


def test_staff_and_customers_each_see_their_documents(
    make_document, make_staff, make_contact, make_organization, api_as
) -> None:
    """An agent finds the internal runbook; a customer finds the public article and their own
    organization's notice, never another customer's."""
    acme, globex = make_organization("Acme"), make_organization("Globex")
    make_document("Purge the CDN cache", "How to purge <b>one</b> file.", ref_id=1)
    make_document("Purge runbook", "Internal purge steps.", ref_id=2, visibility="staff")
    make_document(
        "Purge at Acme",
        "Your purge quota.",
        ref_id=3,
        visibility="organization",
        organization_id=acme.pk,
    )
    make_document(
        "Purge at Globex",
        "Your purge quota.",
        ref_id=4,
        visibility="organization",
        organization_id=globex.pk,
    )

    agent = api_as(make_staff()).get("/search", q="purge")
    customer = api_as(make_contact(acme)).get("/search", q="purge")

    assert agent.status_code == 200, agent.content
    assert sorted(item["ref_id"] for item in agent.json()["items"]) == [1, 2, 3, 4]
    assert agent.json()["count"] == 4
    assert customer.status_code == 200, customer.content
    body = customer.json()
    assert sorted(item["ref_id"] for item in body["items"]) == [1, 3]
    assert body["count"] == 2 and body["query"] == "purge" and body["relaxed"] is False
    first = next(item for item in body["items"] if item["ref_id"] == 1)
    assert first["title_html"] == "<mark>Purge</mark> the CDN cache"
    assert "&lt;b&gt;one&lt;/b&gt;" in first["snippet_html"]
    assert set(first) == {
        "kind",
        "ref_id",
        "title",
        "title_html",
        "url",
        "category",
        "snippet_html",
        "score",
    }


def test_kind_filter_and_page_size_cap(make_staff, api_as) -> None:
    do_index_documents(
        IndexedDocument(
            kind="ticket" if number % 2 else "article",
            ref_id=number,
            title=f"Printer {number}",
            body="The printer is offline.",
            url=f"/{number}",
            visibility="public",
        )
        for number in range(120)
    )
    agent = api_as(make_staff())

    everything = agent.get("/search", q="printer", limit=500)
    tickets = agent.get("/search", q="printer offline", kind="ticket", limit=10, offset=50)

    assert len(everything.json()["items"]) == 50
    assert everything.json()["count"] == 120
    assert [item["kind"] for item in tickets.json()["items"]] == ["ticket"] * 10
    assert tickets.json()["count"] == 60


def test_odd_queries_answer_200_with_a_list(make_staff, api_as) -> None:
    agent = api_as(make_staff())

    for query in ['"', "NEAR(a", "title:", "-", "\x00", "x" * 10_000, ""]:
        answer = agent.get("/search", q=query)
        assert answer.status_code == 200, (query, answer.content)
        assert answer.json()["items"] == []


def test_refusals(make_staff, api_as) -> None:
    assert Client().get("/api/v1/search", {"q": "purge"}).status_code == 401
    assert api_as(make_staff()).get("/search", q="x", offset=-1).status_code == 422
