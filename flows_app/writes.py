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
next step's "running" record (or with the run's end), one round trip and one commit on
PostgreSQL instead of two.
"""

from collections.abc import Iterable, Sequence
from functools import cache

from django.db import DatabaseError, connections
from django.db.models import Model

Write = tuple[Model, Iterable[str] | None]  # a record and its fields to update (None: insert)


def save(record: Model, fields: Iterable[str] | None = None) -> None:
    """Insert ``record``, or update its ``fields`` (every field when None), like
    ``record.save(update_fields=fields)``."""
    connection = connections[record._state.db or "default"]
    returning = connection.features.can_return_columns_from_insert
    inserting = record.pk is None
    with connection.cursor() as cursor:
        cursor.execute(*_statement(record, fields, connection, returning))
        if inserting:
            _inserted(record, cursor.fetchone()[0] if returning else cursor.lastrowid, connection)
        else:
            _updated(cursor)


def save_all(writes: Sequence[Write]) -> None:
    """Make several writes at once: in one round trip and one commit on PostgreSQL (the
    statements go as one query). SQLite, in the same process, gains nothing from that and
    less than a transaction costs, so there they are written one after the other."""
    connection = connections[writes[0][0]._state.db or "default"]
    if len(writes) == 1 or connection.vendor != "postgresql":
        for record, fields in writes:
            save(record, fields)
        return
    statements: list[str] = []
    params: list = []
    inserting = [record.pk is None for record, _fields in writes]
    for record, fields in writes:
        sql, values = _statement(record, fields, connection, returning=True)
        statements.append(sql)
        params += values
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statements), params)
        for number, ((record, _fields), insert) in enumerate(zip(writes, inserting, strict=True)):
            if number:
                cursor.nextset()
            if insert:
                _inserted(record, cursor.fetchone()[0], connection)
            else:
                _updated(cursor)


def _statement(record: Model, fields, connection, returning: bool) -> tuple[str, list]:
    """The INSERT of a new record, or the UPDATE of an existing one's ``fields``, and its
    parameters."""
    model = type(record)
    if record.pk is None:
        names = _all_fields(model)
        return _insert(model, returning, names), _values(record, names, connection, add=True)
    names = tuple(fields) if fields is not None else _all_fields(model)
    return _update(model, names), [*_values(record, names, connection), record.pk]


def _inserted(record: Model, pk: int, connection) -> None:
    record.pk = pk
    record._state.adding = False
    record._state.db = connection.alias


def _updated(cursor) -> None:
    if cursor.rowcount != 1:
        raise DatabaseError("A record of the run is gone: its run was deleted.")


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
def _insert(model: type[Model], returning: bool, names: tuple[str, ...]) -> str:
    columns = ", ".join(_column(model, name) for name in names)
    marks = ", ".join(["%s"] * len(names))
    back = f" RETURNING {_quote(model._meta.pk.column)}" if returning else ""
    return f"INSERT INTO {_quote(model._meta.db_table)} ({columns}) VALUES ({marks}){back}"


@cache
def _update(model: type[Model], names: tuple[str, ...]) -> str:
    settings = ", ".join(f"{_column(model, name)} = %s" for name in names)
    table, pk = _quote(model._meta.db_table), _quote(model._meta.pk.column)
    return f"UPDATE {table} SET {settings} WHERE {pk} = %s"


def _column(model: type[Model], name: str) -> str:
    return _quote(_fields(model)[name].column)


def _quote(name: str | None) -> str:
    return f'"{name}"'  # both databases Sluice runs on quote names the SQL standard's way
