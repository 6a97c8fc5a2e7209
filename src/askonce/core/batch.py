"""All-or-nothing batches: many changes in one transaction that is undone whole if any part fails.

Mail intake stores the messages that arrive together in one transaction (group commit). The
safe way gives each message a savepoint of its own, so a bad one rolls back alone; but a
savepoint is two statements, and a message's own writes are only three or four more. So
intake first tries the batch all or nothing, and only if that fails stores it again message
by message, each in its savepoint (mail/actions.py, `do_receive_mails`).

Inside `all_or_nothing()`:
- blocks that would open a savepoint only to turn a failure into a clean error for their caller
  ask `own_savepoint()` and open none: any failure undoes the whole batch anyway, and the batch
  is then tried the safe way, where they open theirs;
- rows that nothing else in the batch refers to by id (events, the kept raw mail, queued mail)
  go in with `insert_row_later`: they are written together, one INSERT per model, when the
  block ends, before the commit.

Outside it, both behave as usual: a savepoint, and an INSERT at once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import Model

from askonce.core.rows import insert_row, insert_rows

_later: ContextVar[list[Model] | None] = ContextVar("askonce_rows_later", default=None)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """A batch inside the caller's transaction that is undone whole if anything in it fails.

    The caller must hold a transaction (`transaction.atomic()`) around the block and let it roll
    back if the block raises; the deferred rows are written as the block ends normally."""
    rows: list[Model] = []
    token = _later.set(rows)
    try:
        yield
    finally:
        _later.reset(token)
    by_model: dict[type[Model], list[Model]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model_rows in by_model.values():
        insert_rows(model_rows)


def own_savepoint() -> bool:
    """Whether a block that guards its own failure needs a savepoint here (not in a batch)."""
    return _later.get() is None


def insert_row_later[M: Model](row: M) -> M:
    """`insert_row`, deferred to the end of the enclosing `all_or_nothing()` block if there is
    one (the row's id is set then); at once otherwise."""
    rows = _later.get()
    if rows is None:
        return insert_row(row)
    rows.append(row)
    return row


def rows_waiting[M: Model](model: type[M]) -> list[M]:
    """The rows of `model` deferred in the enclosing batch and not written yet (none outside
    one): a read that must see the batch's own changes adds them."""
    rows = _later.get()
    return [row for row in rows or () if type(row) is model]  # type: ignore[misc]
