"""Whatever is typed into the search box, search answers with a list and never raises: engine
syntax, broken quotes, control characters, emoji and 10 kB of text are just text."""

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from askonce.search.actions import do_index_document
from askonce.search.queries import Audience, search_documents

pytestmark = pytest.mark.django_db

# FTS5 and tsquery syntax, quoting, SQL, and sizes that once broke search engines.
HOSTILE = [
    "",
    " ",
    '"',
    '""',
    '"""',
    '"a',
    'a"',
    '"a" "b',
    "*",
    "**",
    "a*",
    "*a",
    "a**",
    '"a b"*',
    "^",
    "^a",
    ":",
    "a:",
    ":a",
    "title:x",
    "body:x",
    "{title body}: x",
    "{title}:",
    "-",
    "--",
    "-a",
    "- a",
    '-"a b"',
    "-*",
    "a -a",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "a AND",
    "OR b",
    "a NOT b",
    "NEAR(a b)",
    "NEAR(a b, 2)",
    "NEAR(",
    "(",
    ")",
    "()",
    "a (b",
    "a) b",
    "+a",
    "a + b",
    "&",
    "|",
    "!",
    "!!a",
    "a & b",
    "a | !b",
    "a <-> b",
    "a <2> b",
    "a:*",
    "a:*A",
    "'a'",
    "''",
    "'",
    "\\",
    "\\'",
    "%",
    "%s",
    "%(name)s",
    "?",
    "'; DROP TABLE search_searchdocument; --",
    '" OR 1=1 --',
    "\x00",
    "a\x00b",
    "\x02mark\x03",
    "\ud800",
    "a\udfffb",
    "😀",
    "👨‍👩‍👧 card",
    "e\u0301",
    "\u200b",
    "\ufeff",
    "\ue000",
    "退款 卡",
    "بطاقة",
    "ΑΒΓ*",
    "the",
    "the and of to",
    "the -card",
    "the of -refund -card",
    "ab*" * 50,
    "a " * 5_000,
    "card " * 2_000,
    "x" * 10_240,
    '"' * 10_240,
    "-" * 10_240,
    "(" * 10_240,
    "refund* " * 2_000,
    " ".join(f"word{number}" for number in range(2_000)),
]


@pytest.fixture
def indexed(db: None) -> None:
    texts = [
        ("Card refunds", "Refund a card payment. NEAR the title: body AND OR NOT * ^ \" '"),
        ("退款", "退款 卡 بطاقة ΑΒΓ café naïve e\u0301 😀 the and of"),
        ("Markup <b>", "<script>alert(1)</script> & x a b word1 word2"),
    ]
    for number, (title, body) in enumerate(texts, start=1):
        do_index_document(
            kind="article",
            ref_id=number,
            title=title,
            body=body,
            url=f"/{number}",
            visibility="public",
        )


def _search_everywhere(query: str) -> None:
    for audience in (Audience(staff=True), Audience.public(), Audience(False, 7)):
        for offset in (0, 20):
            results = search_documents(query, audience=audience, offset=offset)
            assert isinstance(results.hits, list)
            assert results.total is None or results.total >= len(results.hits)
            for hit in results.hits:
                tags = set(re.findall(r"<[^>]*>", hit.title_html + hit.snippet_html))
                assert tags <= {"<mark>", "</mark>"}


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_answer_with_a_list(indexed, query: str) -> None:
    _search_everywhere(query)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.one_of(
        st.text(),
        st.text(alphabet=st.characters(codec=None, exclude_categories=())),
        st.lists(st.sampled_from([*HOSTILE[:70], "card", "refund", "b"]), max_size=8).map(" ".join),
    )
)
@example(query="card refund" + " x" * 100)
def test_any_text_answers_with_a_list(indexed, query: str) -> None:
    _search_everywhere(query)
