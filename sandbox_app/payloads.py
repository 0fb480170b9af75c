"""Check Management API request bodies the way Auth0's JSON schemas do, in Auth0's words."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

STRING, BOOLEAN, OBJECT = "string", "boolean", "object"
USER_CREATE = {
    "connection": STRING,
    "email": STRING,
    "password": STRING,
    "user_id": STRING,
    "username": STRING,
    "phone_number": STRING,
    "given_name": STRING,
    "family_name": STRING,
    "name": STRING,
    "nickname": STRING,
    "picture": STRING,
    "email_verified": BOOLEAN,
    "phone_verified": BOOLEAN,
    "verify_email": BOOLEAN,
    "blocked": BOOLEAN,
    "user_metadata": OBJECT,
    "app_metadata": OBJECT,
}
USER_UPDATE = {
    **{name: kind for name, kind in USER_CREATE.items() if name != "user_id"},
    "client_id": STRING,
    "verify_phone_number": BOOLEAN,
    "verify_password": BOOLEAN,
}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    if isinstance(value, str):
        return STRING
    if isinstance(value, dict):
        return OBJECT
    return "array" if isinstance(value, list) else "unknown"


def problem(body: Any, fields: Mapping[str, str], required: Iterable[str] = ()) -> str | None:
    """Auth0's message for the first thing wrong with ``body``, or None when it is fine."""
    if not isinstance(body, dict):
        return _error(f"Expected type object but found type {json_type(body)}")
    for name in required:
        if name not in body:
            return _error(f"Missing required property: {name}")
    for name, value in body.items():
        if name not in fields:
            return _error(f"Additional properties not allowed: {name}")
        if json_type(value) != fields[name]:
            found = json_type(value)
            return _error(f"Expected type {fields[name]} but found type {found}", name)
    email = body.get("email")
    if isinstance(email, str) and not EMAIL.fullmatch(email):
        return _error(f"Object didn't pass validation for format email: {email}", "email")
    return None


def _error(detail: str, on: str | None = None) -> str:
    where = f" on property {on}" if on else ""
    return f"Payload validation error: '{detail}'{where}."
