"""Write a run's records in plain SQL.

The web server inserts every run it queues; the engine writes every step's record twice
(before its side effect and after it) and the run's own row as it begins and ends. Built
by the ORM, each of those writes cost more in Python than the database took to answer it:
on PostgreSQL a step record's insert and update came to about 1.1 ms, against 0.55 ms in
plain SQL (``benchmarks/engine.py`` shows the difference per step). The statements are
built once per model and set of columns; the values go through each field's own
conversion for the database, exactly as the ORM would send them (an insert fills in
``auto_now_add``). Run and StepRun have no signals, and no automatic field changes on an
update, that a plain write would skip.

``save_all`` makes several writes in one go: the engine writes a step's outcome with the
next step's "running" record (or with the run's end). On PostgreSQL they are one statement,
each write a data-modifying ``WITH`` query: one round trip, one commit, and, as every
statement here, prepared (``plain_sql.cursor``).
"""

import re
from collections.abc import Iterable, Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model

from flows_app import plain_sql
from flows_app.models import Run
from flows_app.plain_sql import column, quote

GONE = "A record of the run is gone: its run was deleted."
Write = tuple[Model, Iterable[str] | None]  # a record and its fields to update (None: insert)


def save(record: Model, fields: Iterable[str] | None = None, *, unless_cancelled=None) -> bool:
    """Insert ``record``, or update its ``fields`` (every field when None), like
    ``record.save(update_fields=fields)``.

    ``unless_cancelled``: the id of a run; the write is made only if nobody has asked that
    run to stop, checked by the statement itself. Returns whether the write was made (an
    update it held back may also have found its record gone: the caller asks why).
    """
    connection = connections[record._state.db or "default"]
    returning = connection.features.can_return_columns_from_insert
    inserting = record.pk is None
    with plain_sql.cursor(connection) as cursor:
        cursor.execute(*_statement(record, fields, connection, returning, unless_cancelled))
        return _written(cursor, record, inserting, returning, unless_cancelled, connection)


def save_all(writes: Sequence[Write], *, unless_cancelled=None) -> bool:
    """Make several writes at once: in one statement on PostgreSQL. SQLite, in the same
    process, gains nothing from that and less than a transaction costs, so there they are
    written one after the other; so they are where two writes are of the same row, which
    one statement could not make both of.

    ``unless_cancelled`` applies to the last write only (see ``save``); the writes before
    it are made in any case. Returns whether the last write was made.
    """
    connection = connections[writes[0][0]._state.db or "default"]
    if len(writes) == 1 or connection.vendor != "postgresql" or _same_row_twice(writes):
        for record, fields in writes[:-1]:
            save(record, fields)
        record, fields = writes[-1]
        return save(record, fields, unless_cancelled=unless_cancelled)
    queries: list[str] = []
    params: list = []
    last = len(writes) - 1
    for number, (record, fields) in enumerate(writes):
        guard = unless_cancelled if number == last else None
        sql, values = _statement(record, fields, connection, True, guard, every=True)
        queries.append(f"w{number} AS ({sql})")
        params += values
    picked = ", ".join(f"(SELECT * FROM w{number})" for number in range(len(writes)))
    with plain_sql.cursor(connection) as cursor:
        cursor.execute(f"WITH {', '.join(queries)} SELECT {picked}", params)
        keys = cursor.fetchone()
    for number, ((record, _fields), key) in enumerate(zip(writes, keys, strict=True)):
        written = key is not None
        if not written and (number != last or unless_cancelled is None):
            raise DatabaseError(GONE)  # only a guarded write is held back
        if written and record.pk is None:
            _inserted(record, key, connection)
    return written


def _same_row_twice(writes: Sequence[Write]) -> bool:
    rows = [(type(record), record.pk) for record, _fields in writes if record.pk is not None]
    return len(set(rows)) < len(rows)


def _statement(
    record: Model, fields, connection, returning: bool, guard=None, every: bool = False
) -> tuple[str, list]:
    """The INSERT of a new record, or the UPDATE of an existing one's ``fields``, and its
    parameters; made only while run ``guard`` has no cancel request, when given. ``every``:
    an UPDATE, too, returns the key of the row it wrote."""
    model = type(record)
    guarded = guard is not None
    tail = [guard] if guarded else []
    if record.pk is None:
        names = _all_fields(model)
        sql = _insert(model, returning, names, connection.vendor if guarded else "")
        return sql, [*_values(record, names, connection, add=True), *tail]
    names = tuple(fields) if fields is not None else _all_fields(model)
    sql = _update(model, names, guarded, every)
    return sql, [*_values(record, names, connection), record.pk, *tail]


def _written(cursor, record, inserting: bool, returning: bool, guard, connection) -> bool:
    """Take in what a write's statement answered; False when a guarded write did nothing."""
    if inserting:
        if returning:
            row = cursor.fetchone()
            pk = row[0] if row is not None else None
        else:
            pk = cursor.lastrowid if cursor.rowcount > 0 else None
        if pk is None:  # only a guarded insert inserts nothing
            return False
        _inserted(record, pk, connection)
        return True
    if cursor.rowcount == 1:
        return True
    if guard is not None:
        return False
    raise DatabaseError(GONE)


def _inserted(record: Model, pk: int, connection) -> None:
    record.pk = pk
    record._state.adding = False
    record._state.db = connection.alias


def _values(record: Model, names: tuple[str, ...], connection, add: bool = False) -> list:
    """The values of ``names`` as the ORM would send them (``add``: for an insert, which
    fills in fields such as ``auto_now_add``)."""
    fields = _fields(type(record))
    values = []
    for name in names:
        field = fields[name]
        values.append(field.get_db_prep_save(field.pre_save(record, add), connection))
    return values


@cache
def _fields(model: type[Model]) -> dict:
    return {field.name: field for field in model._meta.concrete_fields}


@cache
def _all_fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(name for name in _fields(model) if name != model._meta.pk.name)


@cache
def _insert(model: type[Model], returning: bool, names: tuple[str, ...], guarded: str = "") -> str:
    """An INSERT of ``names``; ``guarded`` (the database's vendor) makes it an INSERT …
    SELECT of the values, made only while the run has no cancel request. PostgreSQL types
    the selected values as text unless told otherwise: each is cast to its column's type
    (character columns to unbounded varchar, which never cuts a value short)."""
    columns = ", ".join(column(model, name) for name in names)
    back = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    table = quote(model._meta.db_table)
    if not guarded:
        marks = ", ".join(["%s"] * len(names))
        return f"INSERT INTO {table} ({columns}) VALUES ({marks}){back}"
    if guarded == "postgresql":
        types = [_cast_type(_fields(model)[name]) for name in names]
        marks = ", ".join(f"CAST(%s AS {kind})" for kind in types)
    else:
        marks = ", ".join(["%s"] * len(names))
    return f"INSERT INTO {table} ({columns}) SELECT {marks} WHERE {_GUARD}{back}"


def _cast_type(field) -> str:
    return re.sub(r"\(\d+\)$", "", field.db_type(connections[DEFAULT_DB_ALIAS]))


@cache
def _update(
    model: type[Model], names: tuple[str, ...], guarded: bool = False, returning: bool = False
) -> str:
    settings = ", ".join(f"{column(model, name)} = %s" for name in names)
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    guard = f" AND {_GUARD}" if guarded else ""
    back = f" RETURNING {pk}" if returning else ""
    return f"UPDATE {table} SET {settings} WHERE {pk} = %s{guard}{back}"


# A run someone asked to stop: the guard of ``unless_cancelled``.
_GUARD = "NOT EXISTS (SELECT 1 FROM {} WHERE {} = %s AND {} IS NOT NULL)".format(
    quote(Run._meta.db_table), column(Run, "id"), column(Run, "cancel_requested_at")
)
