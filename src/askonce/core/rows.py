"""Insert one new row with an INSERT statement built once per model, for the hottest write paths.

`Model.objects.create()` builds its INSERT anew every time — field list, quoting, placeholders,
RETURNING — which costs about 0.3 ms of Python per row, several times what SQLite takes to
write it. A new ticket writes three rows (ticket, first message, event), five for a new
requester, so on `POST /api/v1/tickets` that building was a third of the server's CPU
(bench/README.md, "Ticket creation"). `insert_row` asks Django's own compiler for the statement
once per model and database, then only prepares the values, the way `save()` does (`pre_save`,
`get_db_prep_save`), and runs it. Anything it does not cover — a model with parents or
its own `save()` or `save()` signal receivers, a row whose id is already set, a value that
is an expression, a database default, returned fields other than the id — goes through
`save(force_insert=True)` as before.
"""

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import (
    AutoField,
    BigAutoField,
    BooleanField,
    CharField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    signals,
)
from django.db.models.fields import AutoFieldMixin
from django.db.models.sql import InsertQuery

_Prepared = tuple[str, list[Field[Any, Any]], list[tuple[type, ...]]]
_statements: dict[tuple[type[Model], str, bool], _Prepared | None] = {}


def insert_row[M: Model](row: M, *, using: str = "default", skip_own_save: bool = False) -> M:
    """INSERT `row` (not saved before) as `row.save(force_insert=True)` would, and set its id.

    `skip_own_save=True` lets a model with its own `save()` through, for a caller that knows the
    override does nothing for this row (a contact without a password: `AbstractBaseUser.save`
    only adds a password-changed hook).
    """
    prepared = _prepared(type(row), using, skip_own_save)
    values = None if prepared is None or row.pk is not None else _values(row, prepared, using)
    if prepared is None or values is None:
        row.save(force_insert=True, using=using)
        return row
    connection = connections[using]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(prepared[0], values)
        row.pk = cursor.fetchone()[0]
    _saved(row, using)
    return row


def insert_rows[M: Model](rows: list[M], *, using: str = "default") -> list[M]:
    """INSERT new rows of one model as `insert_row` does each, in one statement, and set their
    ids (where the database returns the ids of a multi-row INSERT: PostgreSQL, SQLite 3.35+).

    Rows `insert_row` would hand to `save()` still go one by one.
    """
    insert_rows_together([(rows, False)], using=using)
    return rows


def insert_rows_together(
    groups: list[tuple[list[Any], bool]],
    *,
    using: str = "default",
    then: Callable[[], None] | None = None,
) -> None:
    """`insert_rows` for several models' rows (a list per model, with `skip_own_save` as for
    `insert_row`), then `then()` if given. Rows whose ids are set already (drawn ahead from the
    table's sequence) go in with them.

    On PostgreSQL the statements go in one pipeline: all are sent before any answer is read, so
    the whole lot costs one round trip instead of one per model. `then` runs inside it: its own
    statements join the pipeline if it reads no answers (an INSERT without RETURNING)."""
    connection = connections[using]
    pipeline = _pipeline(connection) if len(groups) + (then is not None) > 1 else None
    with transaction.mark_for_rollback_on_error(using), pipeline or nullcontext():
        sent: list[tuple[Any, list[Any]]] = []
        try:
            for rows, skip_own_save in groups:
                sent += _send_rows(rows, using, skip_own_save)
            if then is not None:
                then()
        except BaseException:
            for cursor, _ in sent:
                cursor.close()
            raise
        for cursor, chunk in sent:
            if chunk[0].pk is not None:  # ids set before: nothing returned
                cursor.close()
                for row in chunk:
                    _saved(row, using)
                continue
            try:
                ids = [returned[0] for returned in cursor.fetchall()]
            finally:
                cursor.close()
            if len(ids) != len(chunk):
                label = type(chunk[0]).__name__
                raise RuntimeError(f"{label}: {len(chunk)} rows written, {len(ids)} ids")
            for row, pk in zip(chunk, ids, strict=True):
                row.pk = pk
                _saved(row, using)


def _pipeline(connection: BaseDatabaseWrapper) -> Any:
    """psycopg 3's pipeline mode on PostgreSQL; None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return getattr(connection.connection, "pipeline", lambda: None)()


def _send_rows(rows: list[Any], using: str, skip_own_save: bool) -> list[tuple[Any, list[Any]]]:
    """Execute the multi-row INSERTs for `rows` (one model) and return each statement's cursor
    with its rows, for the caller to read the ids from; rows that need `save()` are saved."""
    if not rows:
        return []
    model = type(rows[0])
    if any(type(row) is not model for row in rows):
        raise ValueError("insert_rows takes rows of one model")
    prepared = _prepared(model, using, skip_own_save)
    connection = connections[using]
    if prepared is None or not connection.features.can_return_rows_from_bulk_insert:
        for row in rows:
            if row.pk is None:
                insert_row(row, using=using, skip_own_save=skip_own_save)
            else:
                row.save(force_insert=True, using=using)
        return []
    new: list[tuple[Any, list[Any]]] = []  # ids from the database
    numbered: list[tuple[Any, list[Any]]] = []  # ids drawn ahead
    for row in rows:
        values = _values(row, prepared, using)
        if values is None:
            row.save(force_insert=True, using=using)
        elif row.pk is None:
            new.append((row, values))
        else:
            numbered.append((row, [*values, row.pk]))
    sent = []
    for plain, with_ids in ((new, False), (numbered, True)):
        for start in range(0, len(plain), _MAX_ROWS_PER_STATEMENT):
            chunk = plain[start : start + _MAX_ROWS_PER_STATEMENT]
            statement, by_column = _multi_row_statement(model, using, len(chunk), with_ids)
            if by_column:  # one array per column (PostgreSQL's INSERT ... SELECT FROM UNNEST)
                parameters = [
                    list(column) for column in zip(*(values for _, values in chunk), strict=True)
                ]
            else:  # VALUES (...), (...)
                parameters = [value for _, values in chunk for value in values]
            cursor = connection.cursor()
            try:
                cursor.execute(statement, parameters)
            except BaseException:
                cursor.close()
                raise
            sent.append((cursor, [row for row, _ in chunk]))
    return sent


_MAX_ROWS_PER_STATEMENT = 500  # SQLite takes at most 32,766 parameters in one statement


def _prepared(model: type[Model], using: str, skip_own_save: bool) -> _Prepared | None:
    """The model's prepared INSERT, or None when its rows must go through save()."""
    key = (model, using, skip_own_save)
    if key not in _statements:
        _statements[key] = _build_statement(model, using, skip_own_save)
    if _has_save_receivers(model):
        return None
    return _statements[key]


def _values(row: Model, prepared: _Prepared, using: str) -> list[Any] | None:
    """The row's values as `save()` would send them; None if one is an expression (save() it)."""
    _, fields, unchanged = prepared
    row._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    connection = connections[using]
    values = []
    for field, kept_as_is in zip(fields, unchanged, strict=True):
        value = field.pre_save(row, True)
        if type(value) in kept_as_is:  # what get_db_prep_save would return unchanged
            values.append(value)
            continue
        if hasattr(value, "resolve_expression"):  # F(), Now(), DatabaseDefault...
            return None
        values.append(field.get_db_prep_save(value, connection))
    return values


def _saved(row: Model, using: str) -> None:
    row._state.db = using
    row._state.adding = False


_multi_row: dict[tuple[type[Model], str, int, bool], tuple[str, bool]] = {}


def _multi_row_statement(
    model: type[Model], using: str, count: int, with_ids: bool = False
) -> tuple[str, bool]:
    """Django's own INSERT of `count` rows, RETURNING their ids in order (what bulk_create
    relies on), or with the ids given as the last column (`with_ids`), built once per model,
    database, count and kind; and whether it takes one array per column (PostgreSQL: UNNEST)
    rather than one placeholder per value."""
    key = (model, using, count, with_ids)
    built = _multi_row.get(key)
    if built is None:
        meta = model._meta
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        if with_ids:
            fields.append(meta.auto_field)  # type: ignore[arg-type]
        query = InsertQuery(model)
        query.insert_values(fields, [model(pk=0) for _ in range(count)])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = None if with_ids else meta.db_returning_fields
        statements = compiler.as_sql()
        if len(statements) != 1:
            raise RuntimeError(f"no multi-row INSERT for {meta.label}")
        statement, parameters = statements[0]
        placeholders = statement.count("%s")
        if placeholders == len(fields) * count and len(parameters) == placeholders:
            built = (statement, False)
        elif placeholders == len(fields) and "UNNEST" in statement and count > 1:
            built = (statement, True)
        else:
            raise RuntimeError(f"no multi-row INSERT for {meta.label}")
        _multi_row[key] = built
    return built


def _has_save_receivers(model: type[Model]) -> bool:
    return signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)


def _build_statement(model: type[Model], using: str, skip_own_save: bool) -> _Prepared | None:
    """Django's own INSERT for `model`, with %s for every value; None if the model needs save()."""
    meta = model._meta
    connection = connections[using]
    returning = meta.db_returning_fields
    if (
        (model.save is not Model.save and not skip_own_save)  # its own save() must run
        or meta.parents
        or meta.proxy
        or meta.order_with_respect_to
        or returning != [meta.auto_field]
        or not connection.features.can_return_columns_from_insert
    ):
        return None
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    if any(field.generated or field.has_db_default() for field in fields):
        return None
    if any(hasattr(field, "get_placeholder") for field in fields):
        return None
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = returning
    statements = compiler.as_sql()
    if len(statements) != 1:
        return None
    statement, parameters = statements[0]
    if statement.count("%s") != len(fields) or len(parameters) != len(fields):
        return None
    return statement, fields, [_unchanged_types(field, connection) for field in fields]


_NONE = type(None)


def _unchanged_types(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> tuple[type, ...]:
    """Types of value that `field.get_db_prep_save()` returns as they are on this connection.

    Preparing a value goes through four or five methods per field, about a tenth of what
    storing a mail costs; for a plain str in a text column or an int in an integer column (or a
    foreign key to one) it changes nothing. Only fields whose preparing methods are Django's
    own, unchanged, qualify; a test compares both ways on every model intake writes.
    """
    cls = type(field)
    if isinstance(field, ForeignKey):
        target = field.target_field
        if cls.get_db_prep_save is ForeignKey.get_db_prep_save and isinstance(
            target, AutoField | BigAutoField
        ):
            plain_key = (
                type(target).get_db_prep_value is AutoFieldMixin.get_db_prep_value
                and type(target).get_prep_value is IntegerField.get_prep_value
            )
            return (int, _NONE) if plain_key else ()
        return ()
    if cls.get_db_prep_save is not Field.get_db_prep_save or cls.get_db_prep_value not in (
        Field.get_db_prep_value,
        IntegerField.get_db_prep_value,
    ):
        return ()
    prep, to_python = cls.get_prep_value, cls.to_python
    if (prep, to_python) in (
        (CharField.get_prep_value, CharField.to_python),
        (TextField.get_prep_value, TextField.to_python),
    ) and cls.get_db_prep_value is Field.get_db_prep_value:
        return (str, _NONE)
    if (prep, to_python) == (BooleanField.get_prep_value, BooleanField.to_python):
        return (bool, _NONE) if cls.get_db_prep_value is Field.get_db_prep_value else ()
    if (
        prep is IntegerField.get_prep_value
        and cls.get_db_prep_value is IntegerField.get_db_prep_value
        and type(connection.ops).adapt_integerfield_value
        is BaseDatabaseOperations.adapt_integerfield_value  # PostgreSQL wraps ints in types
    ):
        return (int, _NONE)
    return ()


_lookups: dict[tuple[type[Model], str, tuple[str, ...], str], str] = {}


def _lookup_statement(model: type[Model], column: str, fields: tuple[str, ...], using: str) -> str:
    """SELECT `fields` FROM the model's table WHERE `column` = %s, built once."""
    key = (model, column, fields, using)
    statement = _lookups.get(key)
    if statement is None:
        quote = connections[using].ops.quote_name
        meta = model._meta
        known = {field.column for field in meta.concrete_fields}
        if column not in known or not set(fields) <= known:
            raise ValueError(f"{meta.label} has no column among {column!r}, {fields!r}")
        statement = _lookups[key] = (
            f"SELECT {', '.join(map(quote, fields))} FROM {quote(meta.db_table)} "  # noqa: S608
            f"WHERE {quote(column)} = %s"
        )
    return statement


def find_row(
    model: type[Model], column: str, value: Any, fields: tuple[str, ...], *, using: str = "default"
) -> tuple[Any, ...] | None:
    """The first row's `fields` (column names) where `column` = `value`, or None.

    For look-ups on a unique column in the hottest paths (is this mail a duplicate?): one fixed
    statement per model, as `insert_row` does for INSERTs, where `.filter().values_list().first()`
    would build the query anew (about 0.3 ms of Python) to read one indexed row.
    """
    statement = _lookup_statement(model, column, fields, using) + " LIMIT 1"
    with connections[using].cursor() as cursor:
        cursor.execute(statement, [value])
        return cursor.fetchone()


def find_rows(
    model: type[Model],
    column: str,
    values: list[Any],
    fields: tuple[str, ...],
    *,
    using: str = "default",
) -> list[tuple[Any, ...]]:
    """`find_row` for many values at once: the `fields` of every row whose `column` is one of
    `values`, in one statement."""
    if not values:
        return []
    statement = _lookup_statement(model, column, fields, using).replace(
        "= %s", f"IN ({', '.join(['%s'] * len(values))})"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(statement, values)
        return list(cursor.fetchall())
