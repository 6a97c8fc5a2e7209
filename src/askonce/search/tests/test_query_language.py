"""What the search box's language makes of what people type (engine-independent)."""

from askonce.search.query_language import MAX_TERMS, parse_query


def _terms(text: str) -> list[tuple[tuple[str, ...], bool, bool]]:
    return [(term.words, term.prefix, term.excluded) for term in parse_query(text).terms]


def test_words_phrases_prefixes_and_exclusions() -> None:
    assert _terms('Refund "credit card" subscr* -paypal') == [
        (("refund",), False, False),
        (("credit", "card"), False, False),
        (("subscr",), True, False),
        (("paypal",), False, True),
    ]


def test_punctuation_inside_a_word_makes_a_phrase_not_an_operator() -> None:
    assert _terms("title:x ops@example.com NEAR(a") == [
        (("title", "x"), False, False),
        (("ops", "example", "com"), False, False),
        (("near", "a"), False, False),
    ]


def test_stop_words_are_dropped_when_other_words_remain() -> None:
    """Typing "how do I reset my password" searches for reset and password; "the" stays."""
    assert _terms("how do I reset my password") == [
        (("reset",), False, False),
        (("password",), False, False),
    ]
    assert _terms("the") == [(("the",), False, False)]
    assert _terms('"to be or not to be" question')[0][0] == ("to", "be", "or", "not", "to", "be")


def test_short_prefixes_are_searched_as_words() -> None:
    """`a*` would expand to half the dictionary; `res*` too, once the stemmer drops its s."""
    assert _terms("a*") == [(("a",), False, False)]
    assert _terms("res*") == [(("res",), False, False)]
    assert _terms("pass*") == [(("pass",), True, False)]
    assert _terms("rese*") == [(("rese",), True, False)]


def test_unbalanced_quotes_and_lone_operators_parse_to_what_is_there() -> None:
    assert _terms('"unclosed phrase') == [(("unclosed", "phrase"), False, False)]
    assert _terms('- * "" ( ) ^ :') == []
    assert parse_query("-excluded").is_empty  # excluding from nothing finds nothing


def test_the_work_per_query_is_bounded() -> None:
    parsed = parse_query(" ".join(f"w{number}" for number in range(1000)))
    assert len(parsed.terms) == MAX_TERMS
    assert len(parse_query("x" * 100_000).terms[0].words[0]) <= 2_000


def test_relaxing_keeps_what_decides() -> None:
    assert parse_query("card arrived late -virtual").relaxed() == parse_query(
        "card arrived late -virtual"
    )
    assert parse_query("card").relaxed() is None
    assert parse_query("the of").relaxed() is None
