"""Prepared INSERTs and look-ups (core/rows.py) behave as the ORM's own."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from askonce.core.rows import find_row, insert_row
from askonce.mail.models import InboundMail


@pytest.mark.django_db
def test_find_row_reads_one_row_by_a_column() -> None:
    stored = insert_row(
        InboundMail(
            channel="smtp", dedup_key="mid:a@b", sha256="0" * 64, size=3, outcome="loop", raw=b"abc"
        )
    )
    assert find_row(InboundMail, "dedup_key", "mid:a@b", ("id", "outcome", "ticket_id")) == (
        stored.pk,
        "loop",
        None,
    )
    assert find_row(InboundMail, "dedup_key", "mid:other", ("id",)) is None
    assert bytes(InboundMail.objects.get(pk=stored.pk).raw) == b"abc"


def test_find_row_refuses_unknown_columns() -> None:
    with pytest.raises(ValueError, match="no column"):
        find_row(InboundMail, "dedup_key", "x", ("id", "password"))


SAMPLES: dict[type, list[object]] = {
    datetime: [  # aware only: a naive one is never passed through (core/rows.py)
        datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        datetime(1999, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5))),
    ],
    str: ["", "plain", "ünïcödé ✓", "x" * 300],
    int: [0, 7, -3, 2**40],
    bool: [True, False],
    type(None): [None],
}


@pytest.mark.django_db
def test_values_kept_as_they_are_are_what_django_would_send() -> None:
    """Every field of every model, on the database the suite runs on: a value insert_row passes
    unprepared is exactly what Django's own get_db_prep_save gives for it."""
    from django.apps import apps
    from django.db import connection

    from askonce.core.rows import _unchanged_types

    checked = 0
    for model in apps.get_models():
        for field in model._meta.local_concrete_fields:
            for kind in _unchanged_types(field, connection):
                for value in SAMPLES[kind]:
                    prepared = field.get_db_prep_save(value, connection)
                    assert prepared == value and type(prepared) is type(value), (
                        f"{model._meta.label}.{field.name}: {value!r} -> {prepared!r}"
                    )
                    checked += 1
    assert checked > 200  # the project's text, integer, flag and key columns


def test_fields_with_their_own_preparing_are_always_prepared() -> None:
    from django.db import connection
    from django.db.models import DateTimeField, JSONField

    from askonce.core.rows import _unchanged_types

    # SQLite stores datetimes as text: always prepared. PostgreSQL takes aware ones as they are.
    expected = (datetime, type(None)) if connection.vendor == "postgresql" else ()
    assert _unchanged_types(DateTimeField(), connection) == expected
    assert _unchanged_types(JSONField(), connection) == ()

    class OwnDateTime(DateTimeField):
        def get_prep_value(self, value):  # type: ignore[no-untyped-def]
            return value

    assert _unchanged_types(OwnDateTime(), connection) == ()


@pytest.mark.django_db
def test_rows_query_reads_every_match_in_one_statement(django_assert_num_queries) -> None:
    from askonce.core.rows import rows_query, run_together

    for key in ("mid:one", "mid:two"):
        insert_row(
            InboundMail(
                channel="smtp", dedup_key=key, sha256="0" * 64, size=1, outcome="loop", raw=b"x"
            )
        )
    query = rows_query(
        InboundMail, "dedup_key", ["mid:one", "mid:none", "mid:two"], ("dedup_key", "size")
    )
    with django_assert_num_queries(1):
        run_together([query])
    assert sorted(query.rows) == [("mid:one", 1), ("mid:two", 1)]
    assert query.columns == ["dedup_key", "size"]
    empty = rows_query(InboundMail, "dedup_key", [], ("id",))
    with django_assert_num_queries(0):
        run_together([empty])
    assert empty.rows == []


@pytest.mark.django_db
def test_a_naive_datetime_is_prepared_as_django_would() -> None:
    """Aware datetimes pass unprepared where the database takes them as they are; a naive one
    still goes through Django's preparing, which warns and reads it in the current zone."""
    from askonce.core.models import Event

    naive = datetime(2026, 11, 27, 10, 0)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        event = insert_row(
            Event(occurred_at=naive, verb="test.naive", subject_type="t", subject_id=1)
        )
    stored = Event.objects.get(pk=event.pk).occurred_at
    assert stored.tzinfo is not None and stored.replace(tzinfo=None) == naive  # UTC here
