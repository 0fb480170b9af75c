"""Plain SQL for the queries on every run's path (an API start, a worker's run, a waited
answer), where the ORM would spend longer building a query than the database takes to
answer it. Names come from the models, so a renamed column or table follows.

On PostgreSQL they go through ``cursor``, which has each statement prepared on its
connection the first time it runs there: PostgreSQL parses and plans it once, and psycopg
sends the values apart from it instead of quoting them into it. A step's write (the last
outcome and the next record, with the cancel guard) took 0.32 ms of PostgreSQL's CPU each
time; prepared, 0.19 to 0.22 ms (``benchmarks/step_write``).

``records`` and ``rows`` read what such a query answers, with each column converted as the
ORM converts it: a raw queryset would also work out, for every query, which column is which
field and how to convert it, and read the cursor's description to do it.
"""

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model


def quote(name: str | None) -> str:
    return f'"{name}"'  # both databases Sluice runs on quote names the SQL standard's way


def column(model: type[Model], name: str) -> str:
    """The quoted column of ``model``'s field ``name``."""
    return quote(model._meta.get_field(name).column)  # type: ignore[union-attr]


def select(model: type[Model], fields: Iterable[Field] | None = None) -> str:
    """``SELECT`` of ``fields`` (every concrete field when None) ``FROM`` the model's table."""
    columns = ", ".join(quote(field.column) for field in _chosen(model, fields))
    return f"SELECT {columns} FROM {quote(model._meta.db_table)}"


def cursor(connection):
    """A cursor of ``connection`` (Django's, so queries are logged and errors are Django's)
    for statements whose text repeats: on PostgreSQL each is prepared the first time it
    runs on a connection. Elsewhere, the usual cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_Preparing(connection.connection))


class _Preparing(psycopg.Cursor):
    """Parameters bound on the server, every statement prepared. Django turns prepared
    statements off on its connections (``prepare_threshold`` None, for connection poolers
    that do not keep them; PgBouncer keeps them from 1.21 on, with
    ``max_prepared_statements``): unless configured, they are on only while this cursor
    executes, so the ORM's own queries, whose text changes with every value, are not."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        connection = self.connection
        configured = connection.prepare_threshold
        if configured is None:
            connection.prepare_threshold = 0
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        finally:
            connection.prepare_threshold = configured


def rows(sql: str, params: Sequence, fields: Sequence[Field]) -> list[list]:
    """The rows of a query whose first columns are ``fields``', each field's value converted
    as the ORM would; any further columns as the database gives them."""
    connection = connections[DEFAULT_DB_ALIAS]
    with cursor(connection) as reading:
        reading.execute(sql, params)
        found = reading.fetchall()
    converters = _converters(tuple(fields), connection.vendor)
    answer = []
    for row in found:
        values = list(row)
        for position, convert, expression in converters:
            for converter in convert:
                values[position] = converter(values[position], expression, connection)
        answer.append(values)
    return answer


def records[M: Model](
    model: type[M],
    sql: str,
    params: Sequence,
    fields: Iterable[Field] | None = None,
    extra: Sequence[str] = (),
) -> list[M]:
    """Instances of ``model`` from a query whose columns are ``fields``' (every concrete
    field when None; the primary key among them), then one for each name in ``extra``,
    which each instance gets as an attribute."""
    chosen = _chosen(model, fields)
    names = [field.attname for field in chosen]
    count = len(chosen)
    found = []
    for values in rows(sql, params, chosen):
        record = model.from_db(DEFAULT_DB_ALIAS, names, values[:count])
        for name, value in zip(extra, values[count:], strict=True):
            setattr(record, name, value)
        found.append(record)
    return found


def _chosen(model: type[Model], fields: Iterable[Field] | None) -> tuple[Field, ...]:
    return tuple(model._meta.concrete_fields if fields is None else fields)


Converter = tuple[int, list[Callable[..., Any]], Any]


@cache
def _converters(fields: tuple[Field, ...], vendor: str) -> list[Converter]:
    """Each converted column's position, its converters and the expression they are given,
    as the ORM's compiler finds them (``vendor`` keys the cache: the backend adds its own)."""
    connection = connections[DEFAULT_DB_ALIAS]
    found = []
    for position, field in enumerate(fields):
        expression = field.get_col(field.model._meta.db_table)
        convert = connection.ops.get_db_converters(expression)
        convert += expression.get_db_converters(connection)
        if convert:
            found.append((position, convert, expression))
    return found
