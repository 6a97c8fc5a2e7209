"""All-or-nothing batches (core/batch.py) and the multi-row INSERT under them (core/rows.py)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from askonce.core.batch import all_or_nothing, ids_query, insert_row_later, own_savepoint
from askonce.core.events import record_event
from askonce.core.models import Event
from askonce.core.rows import insert_rows_together
from askonce.mail.models import InboundMail


def _inbound(key: str, size: int) -> InboundMail:
    return InboundMail(
        channel="smtp", dedup_key=key, sha256="0" * 64, size=size, outcome="loop", raw=b"x"
    )


@pytest.mark.django_db
def test_insert_rows_together_writes_every_row_in_one_statement_and_sets_each_id() -> None:
    rows = [_inbound(f"mid:{index}@rows", index) for index in range(7)]
    with CaptureQueriesContext(connection) as statements:
        insert_rows_together([(rows, False)])
    assert len(statements.captured_queries) == 1
    for row in rows:  # each id is its own row's, in order
        assert InboundMail.objects.get(pk=row.pk).size == int(row.dedup_key[4:].split("@")[0])
    assert len({row.pk for row in rows}) == 7


@pytest.mark.django_db
def test_insert_rows_together_keeps_json_and_nulls() -> None:
    now = timezone.now()
    events = [
        Event(
            occurred_at=now,
            verb="test.rows",
            subject_type="t",
            subject_id=index,
            data={"n": [index, "é"]},
        )
        for index in range(3)
    ]
    events.append(
        Event(
            occurred_at=now, verb="test.rows", subject_type="t", subject_id=9, actor=None, data={}
        )
    )
    insert_rows_together([(events, False)])
    stored = {event.subject_id: event.data for event in Event.objects.filter(verb="test.rows")}
    assert stored == {0: {"n": [0, "é"]}, 1: {"n": [1, "é"]}, 2: {"n": [2, "é"]}, 9: {}}


def test_insert_rows_together_takes_one_model_at_a_time() -> None:
    with pytest.raises(ValueError, match="one model"):
        insert_rows_together(
            [([_inbound("mid:a", 1), Event(verb="x", subject_type="t", subject_id=1)], False)]
        )


@pytest.mark.django_db
def test_rows_later_are_written_when_the_batch_ends() -> None:
    with transaction.atomic():
        with all_or_nothing():
            assert not own_savepoint()
            row = insert_row_later(_inbound("mid:later@batch", 5))
            event = record_event(verb="test.later", subject_type="t", subject_id=1)
            assert row.pk is None and event.pk is None
            assert not InboundMail.objects.filter(dedup_key="mid:later@batch").exists()
        assert row.pk is not None and event.pk is not None
        assert InboundMail.objects.get(pk=row.pk).size == 5
    assert own_savepoint()
    outside = insert_row_later(_inbound("mid:now@batch", 6))  # no batch: at once
    assert outside.pk is not None


@pytest.mark.django_db
def test_a_failing_batch_writes_none_of_its_rows() -> None:
    with pytest.raises(RuntimeError), transaction.atomic(), all_or_nothing():
        insert_row_later(_inbound("mid:undone@batch", 1))
        record_event(verb="test.undone", subject_type="t", subject_id=1)
        raise RuntimeError("a message failed")
    assert not InboundMail.objects.filter(dedup_key="mid:undone@batch").exists()
    assert not Event.objects.filter(verb="test.undone").exists()
    assert own_savepoint()


@pytest.mark.django_db
def test_a_row_whose_id_is_needed_gets_it_at_once() -> None:
    """PostgreSQL draws the ids ahead and defers the row; SQLite writes it at once. Either way
    the id is there to use, and the row is stored under it."""
    with transaction.atomic():
        with all_or_nothing(ids_query({InboundMail: 2})):
            rows = [
                insert_row_later(_inbound(f"mid:{index}@ids", index), needs_id=True)
                for index in range(3)  # one more than drawn: that one goes in at once
            ]
            assert all(row.pk is not None for row in rows)
            assert len({row.pk for row in rows}) == 3
            written_early = InboundMail.objects.filter(dedup_key__endswith="@ids").count()
            assert written_early == (1 if connection.vendor == "postgresql" else 3)
        for row in rows:
            assert InboundMail.objects.get(pk=row.pk).dedup_key == row.dedup_key
