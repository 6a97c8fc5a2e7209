"""Full-text search through its public door (actions in, search_documents out), on whichever
database the suite runs: FTS5 on SQLite, tsvector on PostgreSQL."""

import re

import pytest
from django.db import transaction

from askonce.core.errors import InvalidInput
from askonce.search.actions import (
    IndexedDocument,
    do_index_document,
    do_index_documents,
    do_optimize_index,
    do_remove_document,
)
from askonce.search.engines import postgresql as postgresql_engine
from askonce.search.engines import sqlite as sqlite_engine
from askonce.search.queries import (
    Audience,
    count_documents,
    document_for,
    marked_html,
    search_documents,
)

pytestmark = pytest.mark.django_db
STAFF = Audience(staff=True)
PUBLIC = Audience.public()


def _refs(query: str, audience: Audience = STAFF, **options) -> list[int]:
    return [hit.ref_id for hit in search_documents(query, audience=audience, **options).hits]


def test_a_word_only_in_the_body_finds_the_document_by_its_stem(make_document) -> None:
    """Someone searching "refunds" finds the article that speaks of "refund" in its text."""
    make_document("Money back", "You get a refund within five days.", ref_id=1)
    make_document("Shipping times", "Parcels arrive within a week.", ref_id=2)

    assert _refs("refunds") == [1]
    assert _refs("REFUND") == [1]


def test_a_title_match_ranks_above_a_body_match(make_document) -> None:
    """The article titled with the word comes first, before those that only mention it."""
    make_document("Paying by card", "How to pay for an order.", ref_id=1, popularity=50)
    make_document(
        "Orders", "Your card is charged when the order ships, and the card is kept.", ref_id=2
    )
    make_document("Cancel a card", "Block it in the app.", ref_id=3, popularity=0)

    results = search_documents("card", audience=STAFF)

    assert [hit.ref_id for hit in results.hits][:2] in ([1, 3], [3, 1])
    assert results.hits[-1].ref_id == 2
    assert results.hits[0].score > results.hits[-1].score


def test_popularity_breaks_ties_between_equal_matches(make_document) -> None:
    make_document("Reset password", "Use the link.", ref_id=1, popularity=1)
    make_document("Reset password", "Use the link.", ref_id=2, popularity=90)

    assert _refs("password") == [2, 1]


def test_a_quoted_phrase_matches_the_words_in_order_only(make_document) -> None:
    make_document("Disputes", "A card payment you did not make can be disputed.", ref_id=1)
    make_document("Top up", "Make a payment by card or transfer.", ref_id=2)

    assert _refs('"card payment"') == [1]
    assert sorted(_refs("card payment")) == [1, 2]


def test_a_prefix_matches_longer_words(make_document) -> None:
    make_document("Subscriptions", "Your subscription renews monthly.", ref_id=1)
    make_document("Subtitles", "Turn subtitles on in the player.", ref_id=2)

    assert _refs("subscr*") == [1]
    assert sorted(_refs("sub*")) == [1, 2]


def test_a_minus_excludes_documents_with_the_word(make_document) -> None:
    make_document("Card refund", "Refunds go back to the card.", ref_id=1)
    make_document("Bank refund", "Refunds by bank transfer.", ref_id=2)

    assert _refs("refund -card") == [2]
    assert _refs("-card") == []


def test_operators_and_column_names_typed_by_people_are_plain_words(make_document) -> None:
    """Typing FTS or tsquery syntax finds documents that contain those words, or none."""
    make_document("Settings", "Type title:works in the search box.", ref_id=1)

    # As a column filter it would look for "works" in the title; it is the words in order.
    assert _refs("title:works") == [1]
    assert _refs("(box") == _refs("box)") == _refs("^box") == _refs("box:*") == [1]
    assert _refs('"unclosed phrase') == []
    results = search_documents("settings OR missing", audience=STAFF)
    assert results.relaxed and [hit.ref_id for hit in results.hits] == [1]


def test_the_snippet_marks_the_match_and_escapes_the_document_text(make_document) -> None:
    """A document holding markup shows it as text; only the matched word is highlighted."""
    make_document(
        "Embedding <b>widgets</b>",
        'Tom & Jerry: paste <script>alert("x")</script> into the page to embed the widget.',
        ref_id=1,
    )

    hit = search_documents("widget", audience=STAFF).hits[0]

    assert "<mark>widget</mark>" in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html
    assert "<script>" not in hit.snippet_html
    assert "&amp;" in hit.snippet_html
    assert hit.title_html == "Embedding &lt;b&gt;<mark>widgets</mark>&lt;/b&gt;"
    assert hit.title == "Embedding <b>widgets</b>"
    assert _html_tags(hit.snippet_html + hit.title_html) <= {"<mark>", "</mark>"}


def test_a_document_cannot_forge_highlight_marks(make_document) -> None:
    make_document("Marks", "before \x02forged\x03 after, and the word beacon.", ref_id=1)

    hit = search_documents("beacon", audience=STAFF).hits[0]

    assert "<mark>forged" not in hit.snippet_html
    assert "<mark>beacon</mark>" in hit.snippet_html


def test_marked_html_pairs_tags_whatever_the_marks() -> None:
    assert marked_html("\x03a\x02b\x02c") == "a<mark>bc</mark>"
    assert marked_html("<i>\x02x\x03</i>") == "&lt;i&gt;<mark>x</mark>&lt;/i&gt;"


def test_each_audience_sees_only_its_documents(make_document) -> None:
    """A visitor sees public articles; a customer also their organization's; staff all."""
    make_document("Outage notes", "Outage in Paris.", ref_id=1, visibility="public")
    make_document("Outage runbook", "Outage steps.", ref_id=2, visibility="staff")
    make_document(
        "Outage at Acme", "Outage for Acme.", ref_id=3, visibility="organization", organization_id=7
    )
    make_document(
        "Outage at Globex",
        "Outage for Globex.",
        ref_id=4,
        visibility="organization",
        organization_id=8,
    )

    assert _refs("outage", PUBLIC) == [1]
    assert sorted(_refs("outage", Audience(staff=False, organization_id=7))) == [1, 3]
    assert sorted(_refs("outage", Audience(staff=False, organization_id=8))) == [1, 4]
    assert sorted(_refs("outage", STAFF)) == [1, 2, 3, 4]
    assert search_documents("outage", audience=PUBLIC).total == 1


def test_kinds_narrow_the_search(make_document) -> None:
    make_document("Printer jams", "Paper jam.", kind="article", ref_id=1)
    make_document("Printer jams again", "Paper jam.", kind="ticket", ref_id=1)

    tickets = search_documents("printer", audience=STAFF, kinds=["ticket"]).hits
    assert [(hit.kind, hit.ref_id) for hit in tickets] == [("ticket", 1)]
    assert len(_refs("printer", kinds=["article", "ticket"])) == 2
    assert _refs("printer", kinds=[]) == []


def test_indexing_again_replaces_the_document(make_document) -> None:
    make_document("Old title", "The zeppelin departs at noon.", ref_id=1)
    make_document("New title", "The airship departs at noon.", ref_id=1, popularity=5)

    assert _refs("zeppelin") == []
    hits = search_documents("airship", audience=STAFF).hits
    assert [(hit.ref_id, hit.title) for hit in hits] == [(1, "New title")]
    assert count_documents("article") == 1


def test_a_change_of_popularity_only_keeps_the_document_findable(make_document) -> None:
    make_document("Gift cards", "Redeem a voucher.", ref_id=1)
    make_document("Gift cards", "Redeem a voucher.", ref_id=1, popularity=9)

    assert _refs("voucher") == [1]
    document = document_for("article", 1)
    assert document is not None and document.popularity == 9


def test_removal_takes_the_document_out(make_document) -> None:
    make_document("Lost parcel", "Claim a lost parcel.", ref_id=1)
    make_document("Lost parcel", "Claim a lost parcel.", ref_id=2)

    do_remove_document(kind="article", ref_id=1)
    do_remove_document(kind="article", ref_id=99)  # not indexed: nothing happens

    assert _refs("parcel") == [2]
    assert document_for("article", 1) is None


def test_an_index_write_that_rolls_back_leaves_no_trace(make_document) -> None:
    make_document("Kept", "The kept quokka.", ref_id=1)

    with pytest.raises(RuntimeError), transaction.atomic():
        do_index_document(
            kind="article", ref_id=2, title="Gone", body="A quokka.", url="/2", visibility="public"
        )
        do_remove_document(kind="article", ref_id=1)
        raise RuntimeError("the caller's transaction fails")

    assert _refs("quokka") == [1]


def test_bulk_indexing_writes_every_document_in_batches(db) -> None:
    documents = [
        IndexedDocument(
            kind="topic",
            ref_id=number % 1100,  # the last 100 repeat earlier ones and replace them
            title=f"Topic {number}",
            body=f"Discussion number {number} about lighthouses.",
            url=f"/forum/{number}",
            visibility="public",
        )
        for number in range(1200)
    ]

    written = do_index_documents(documents)
    do_optimize_index()

    assert written == 1200
    assert count_documents("topic") == 1100
    results = search_documents("lighthouse", audience=STAFF, limit=10)
    assert len(results.hits) == 10 and results.total == 1100
    assert _refs('"topic 1150"') == [50]


def test_pages_and_total(make_document) -> None:
    for number in range(1, 26):
        make_document(f"Invoice {number}", "Download the invoice.", ref_id=number)

    first = search_documents("invoice", audience=STAFF, limit=10)
    last = search_documents("invoice", audience=STAFF, limit=10, offset=20)
    beyond = search_documents("invoice", audience=STAFF, limit=10, offset=40)

    assert first.total == last.total == beyond.total == 25
    assert len(first.hits) == 10 and len(last.hits) == 5 and beyond.hits == []
    every = {hit.ref_id for offset in (0, 10, 20) for hit in _page(offset)}
    assert every == set(range(1, 26))


def _page(offset: int) -> list:
    return search_documents("invoice", audience=STAFF, limit=10, offset=offset).hits


def test_a_broad_query_ranks_the_newest_matches_and_leaves_the_total_open(
    make_document, monkeypatch
) -> None:
    """With more matches than are ranked, the newest are ranked and the count says "many"."""
    monkeypatch.setattr(sqlite_engine, "CANDIDATE_LIMIT", 5)
    monkeypatch.setattr(postgresql_engine, "CANDIDATE_LIMIT", 5)
    for number in range(1, 9):
        make_document(f"Kiosk {number}", "The kiosk reboots at night.", ref_id=number)

    broad = search_documents("kiosk", audience=STAFF)
    past_the_end = search_documents("kiosk", audience=STAFF, offset=40)
    narrow = search_documents("kiosk reboots 2", audience=STAFF)

    assert broad.total is None and past_the_end.total is None
    assert sorted(hit.ref_id for hit in broad.hits) == [4, 5, 6, 7, 8]
    assert past_the_end.hits == []
    assert narrow.total == 1 and [hit.ref_id for hit in narrow.hits] == [2]


def test_long_titles_are_shortened_not_refused(make_document) -> None:
    document = make_document("Why " * 100, "Because.", ref_id=1)

    assert len(document.title) == 300 and document.title.endswith("…")


def test_a_long_question_falls_back_to_any_of_its_words(make_document) -> None:
    """A question no article answers word for word still finds the articles on its topic."""
    make_document("Card delivery", "New cards arrive by post within a week.", ref_id=1)
    make_document("Exchange rates", "Rates change daily.", ref_id=2)

    exact = search_documents("card delivery", audience=STAFF)
    question = search_documents(
        "why has my new card still not arrived after two weeks", audience=STAFF
    )

    assert not exact.relaxed and [hit.ref_id for hit in exact.hits] == [1]
    assert question.relaxed and [hit.ref_id for hit in question.hits] == [1]


def test_empty_and_meaningless_queries_find_nothing(make_document) -> None:
    make_document("Anything", "Some text.", ref_id=1)

    for query in ["", "   ", '"', "*", "-", "()", "!!!", "\x00", "😀"]:
        results = search_documents(query, audience=STAFF)
        assert results.hits == [] and results.total == 0


def test_invalid_documents_are_refused(db) -> None:
    fields = {"kind": "article", "ref_id": 1, "title": "T", "body": "", "url": "/1"}

    with pytest.raises(InvalidInput, match="visibility"):
        do_index_document(**fields, visibility="friends")
    with pytest.raises(InvalidInput, match="organization_id"):
        do_index_document(**fields, visibility="organization")
    with pytest.raises(InvalidInput, match="title"):
        do_index_document(**{**fields, "title": " \x00 "}, visibility="public")
    assert count_documents() == 0


def _html_tags(text: str) -> set[str]:
    return set(re.findall(r"<[^>]*>", text))
