"""Prepared INSERTs and look-ups (core/rows.py) behave as the ORM's own."""

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
