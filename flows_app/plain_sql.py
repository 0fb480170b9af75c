"""Plain SQL for the queries on every run's path (an API start, a worker's run, a waited
answer), where the ORM would spend longer building a query than the database takes to
answer it. Names come from the models, so a renamed column or table follows.

``records`` and ``rows`` read what such a query answers, with each column converted as the
ORM converts it: a raw queryset would also work out, for every query, which column is which
field and how to convert it, and that cost more than the query itself (about a fifth of the
web server's CPU per run-and-wait, in a profile).
"""

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

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


def rows(sql: str, params: Sequence, fields: Sequence[Field]) -> list[list]:
    """The rows of a query whose first columns are ``fields``', each field's value converted
    as the ORM would; any further columns as the database gives them."""
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
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
