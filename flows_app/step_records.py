"""Write a run's step records in plain SQL.

The engine writes every step's record twice (before its side effect and after it). Built by
the ORM, each of those writes cost more in Python than the database took to answer it: on
PostgreSQL an insert and an update came to about 1.1 ms a step, against 0.55 ms in plain
SQL (``benchmarks/engine.py`` shows the difference per step). The statements are built
once per set of columns; the values go through each field's own conversion for the
database, exactly as the ORM would send them. StepRun has no signals or automatic fields
that a plain write would skip.
"""

from collections.abc import Iterable
from functools import cache

from django.db import DatabaseError, connections

from flows_app.models import StepRun

FIELDS = {field.name: field for field in StepRun._meta.concrete_fields}
PK = StepRun._meta.pk


def save(record: StepRun, fields: Iterable[str] | None = None) -> None:
    """Insert ``record``, or update its ``fields`` (every field when None), like
    ``record.save(update_fields=fields)``."""
    alias = record._state.db or "default"
    connection = connections[alias]
    if record.pk is None:
        names = tuple(name for name in FIELDS if name != PK.name)
        with connection.cursor() as cursor:
            returning = connection.features.can_return_columns_from_insert
            cursor.execute(_insert(returning, names), _values(record, names, connection))
            record.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
        record._state.adding = False
        record._state.db = alias
        return
    names = tuple(fields) if fields is not None else tuple(n for n in FIELDS if n != PK.name)
    with connection.cursor() as cursor:
        cursor.execute(_update(names), [*_values(record, names, connection), record.pk])
        if cursor.rowcount != 1:
            raise DatabaseError(f"Step record {record.pk} is gone: the run was deleted.")


def _values(record: StepRun, names: tuple[str, ...], connection) -> list:
    values = []
    for name in names:
        field = FIELDS[name]
        values.append(field.get_db_prep_save(field.pre_save(record, False), connection))
    return values


@cache
def _insert(returning: bool, names: tuple[str, ...]) -> str:
    columns = ", ".join(_quoted(name) for name in names)
    marks = ", ".join(["%s"] * len(names))
    table = _quote(StepRun._meta.db_table)
    back = f" RETURNING {_quote(PK.column)}" if returning else ""
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}){back}"


@cache
def _update(names: tuple[str, ...]) -> str:
    settings = ", ".join(f"{_quoted(name)} = %s" for name in names)
    return f"UPDATE {_quote(StepRun._meta.db_table)} SET {settings} WHERE {_quote(PK.column)} = %s"


def _quoted(name: str) -> str:
    return _quote(FIELDS[name].column)


def _quote(name: str) -> str:
    return f'"{name}"'  # both databases Sluice runs on quote names the SQL standard's way
