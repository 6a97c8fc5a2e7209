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
  block ends, before the commit;
- on PostgreSQL, rows whose ids are needed at once (a new ticket's, for its first message) get
  ids drawn ahead from their sequences (`ids_query`) and are deferred too, so a batch's
  INSERTs all go to the server in one pipeline, whatever the batch's size;
- `with_the_rows(call)` runs `call` as those rows are written (the delivery task's INSERT
  joins their pipeline), and `rows_waiting(model)` lets a read count rows not written yet.

Outside it, all behave as usual: a savepoint, an INSERT at once, a call at once.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Model

from askonce.core.rows import Query, insert_row, insert_rows_together, run_together


@dataclass
class _Batch:
    # Deferred rows by model and `skip_own_save`, as they will be written.
    rows: dict[tuple[type[Model], bool], list[Model]] = field(default_factory=dict)
    calls: list[Callable[[], None]] = field(default_factory=list)
    ids: dict[type[Model], list[int]] = field(default_factory=dict)  # drawn ahead, per model


_batch: ContextVar[_Batch | None] = ContextVar("askonce_batch", default=None)


@contextmanager
def all_or_nothing(ids: Query | None = None) -> Iterator[None]:
    """A batch inside the caller's transaction that is undone whole if anything in it fails.

    The caller must hold a transaction (`transaction.atomic()`) around the block and let it roll
    back if the block raises; the deferred rows are written as the block ends normally, one
    INSERT per model, and on PostgreSQL all in one round trip (`insert_rows_together`).

    `ids`: ids drawn ahead (`ids_query`; run here if the caller has not run it with its other
    reads), for rows the batch creates whose ids are needed at once (a new ticket's id for its
    first message): those rows are deferred too, with their ids set; ids left over are skipped,
    as a rolled-back INSERT's would be. Without them (on SQLite) such rows go in at once."""
    batch = _Batch()
    if ids is not None and ids.statement:
        if not ids.rows:
            run_together([ids])
        batch.ids = {
            model: list(reversed(drawn)) for model, drawn in zip(ids.keys, ids.rows[0], strict=True)
        }
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)

    def run_calls() -> None:
        for call in batch.calls:
            call()

    insert_rows_together(
        [(rows, skip_own_save) for (_, skip_own_save), rows in batch.rows.items()],
        then=run_calls if batch.calls else None,
    )


def ids_query(wanted: dict[type[Model], int]) -> Query:
    """The query that draws `count` ids from each model's sequence (PostgreSQL; nothing to
    read elsewhere), for `all_or_nothing`; run it with the batch's other reads
    (`rows.run_together`)."""
    models = [model for model, count in wanted.items() if count > 0]
    if not models or connection.vendor != "postgresql":
        return Query("", [])
    columns = ", ".join(
        "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))"
        for _ in models
    )
    parameters: list[str | int] = []
    for model in models:
        key = model._meta.auto_field
        if key is None:
            raise ValueError(f"{model._meta.label} has no sequence to draw ids from")
        parameters += [model._meta.db_table, str(key.column), wanted[model]]
    return Query(f"SELECT {columns}", list(parameters), keys=models)


def own_savepoint() -> bool:
    """Whether a block that guards its own failure needs a savepoint here (not in a batch)."""
    return _batch.get() is None


def insert_row_later[M: Model](row: M, *, needs_id: bool = False, skip_own_save: bool = False) -> M:
    """`insert_row`, deferred to the end of the enclosing `all_or_nothing()` block if there is
    one (the row's id is set then); at once otherwise.

    `needs_id`: the caller uses the row's id at once. In a batch that drew ids for the model
    the row takes one and is deferred; otherwise it goes in at once."""
    batch = _batch.get()
    if batch is None:
        return insert_row(row, skip_own_save=skip_own_save)
    if needs_id:
        ids = batch.ids.get(type(row))
        if not ids:
            return insert_row(row, skip_own_save=skip_own_save)
        row.pk = ids.pop()
    batch.rows.setdefault((type(row), skip_own_save), []).append(row)
    return row


def with_the_rows(call: Callable[[], None]) -> None:
    """Run `call` when the enclosing batch writes its rows (its statements join theirs, so it
    must not need their ids); at once outside a batch."""
    batch = _batch.get()
    if batch is None:
        call()
    else:
        batch.calls.append(call)


def rows_waiting[M: Model](model: type[M]) -> list[M]:
    """The rows of `model` deferred in the enclosing batch and not written yet (none outside
    one): a read that must see the batch's own changes adds them."""
    batch = _batch.get()
    if batch is None:
        return []
    return [*batch.rows.get((model, False), []), *batch.rows.get((model, True), [])]  # type: ignore[list-item]
