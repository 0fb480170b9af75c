"""Plain SQL for the queries on every run's path (an API start, a worker's run, a waited
answer), where the ORM would spend longer building a query than the database takes to
answer it. Names come from the models, so a renamed column or table follows."""

from collections.abc import Iterable

from django.db.models import Field, Model


def quote(name: str | None) -> str:
    return f'"{name}"'  # both databases Sluice runs on quote names the SQL standard's way


def column(model: type[Model], name: str) -> str:
    """The quoted column of ``model``'s field ``name``."""
    return quote(model._meta.get_field(name).column)  # type: ignore[union-attr]


def select(model: type[Model], fields: Iterable[Field] | None = None) -> str:
    """``SELECT`` of ``fields`` (every concrete field when None) ``FROM`` the model's table."""
    chosen = model._meta.concrete_fields if fields is None else fields
    columns = ", ".join(quote(field.column) for field in chosen)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)}"
