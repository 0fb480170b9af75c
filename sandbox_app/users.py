"""A sandbox tenant's users, with the Management API's rules: the API and the Sandbox page
both change users only through these functions.

Users are created in the tenant's one database connection, ``Username-Password-Authentication``;
emails are kept in lower case, as Auth0 keeps them. Passwords are checked for strength, as
Auth0 checks them, and then dropped: nobody signs in to a sandbox tenant. Every function
raises ``ApiError`` with Auth0's status, message and error code.
"""

import fnmatch
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django.db import IntegrityError, transaction

from sandbox_app import payloads
from sandbox_app.errors import ApiError, inexistent_user, invalid_body, invalid_query
from sandbox_app.models import DATABASE_CONNECTION, SandboxTenant, SandboxUser

MIN_PASSWORD = 8
MAX_PER_PAGE = 100
KEPT_APART = ("connection", "password", "user_id", "verify_email")
NOT_KEPT = ("client_id", "verify_phone_number", "verify_password")


def iso_now() -> str:
    """Auth0's timestamps: ISO 8601 in UTC with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def picture(email: str, name: str) -> str:
    """Auth0's default picture: the Gravatar of the email, falling back to initials."""
    digest = hashlib.md5(email.encode(), usedforsecurity=False).hexdigest()
    initials = "".join(word[0] for word in name.split()[:2]).lower() or "u"
    fallback = quote(f"https://cdn.auth0.com/avatars/{initials}.png", safe="")
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d={fallback}"


def _strong_enough(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ApiError(400, "PasswordStrengthError: Password is too weak", "invalid_password")


def _exists() -> ApiError:
    return ApiError(409, "The user already exists.", "auth0_idp_error")


# Create, read, update, delete --------------------------------------------------------------


def create(tenant: SandboxTenant, body: Any) -> dict[str, Any]:
    """Create a user from a ``POST /api/v2/users`` body; return it as the API shows it."""
    problem = payloads.problem(body, payloads.USER_CREATE, required=("connection",))
    if problem:
        raise invalid_body(problem)
    if body["connection"] != DATABASE_CONNECTION:
        raise ApiError(400, "The connection does not exist.", "inexistent_connection")
    problem = payloads.problem(body, payloads.USER_CREATE, required=("email", "password"))
    if problem:
        raise invalid_body(problem)
    _strong_enough(body["password"])
    profile = _new_profile(body)
    user = SandboxUser(
        tenant=tenant,
        user_id=profile["user_id"],
        connection=body["connection"],
        email=profile["email"],
        profile=profile,
    )
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise _exists() from None
    return profile


def _new_profile(body: dict[str, Any]) -> dict[str, Any]:
    local_id = body.get("user_id") or secrets.token_hex(12)
    email = body["email"].lower()
    name = body.get("name") or email
    now = iso_now()
    profile = {
        "user_id": f"auth0|{local_id}",
        "email": email,
        "email_verified": False,
        "name": name,
        "nickname": email.split("@")[0],
        "picture": picture(email, name),
        "identities": [
            {
                "connection": body["connection"],
                "user_id": local_id,
                "provider": "auth0",
                "isSocial": False,
            }
        ],
        "created_at": now,
        "updated_at": now,
    }
    kept = {k: v for k, v in body.items() if k not in KEPT_APART and k not in NOT_KEPT}
    return {**profile, **kept, "email": email}


def get(tenant: SandboxTenant, user_id: str) -> dict[str, Any]:
    return _user(tenant, user_id).profile


def _user(tenant: SandboxTenant, user_id: str, *, lock: bool = False) -> SandboxUser:
    users = SandboxUser.objects.select_for_update() if lock else SandboxUser.objects
    user = users.filter(tenant=tenant, user_id=user_id).first()
    if user is None:
        raise inexistent_user()
    return user


def update(tenant: SandboxTenant, user_id: str, body: Any) -> dict[str, Any]:
    """Apply a ``PATCH /api/v2/users/{id}`` body: ``app_metadata`` and ``user_metadata``
    merge key by key (null removes a key, ``{}`` empties them); other keys replace."""
    problem = payloads.problem(body, payloads.USER_UPDATE)
    if problem:
        raise invalid_body(problem)
    if not body:
        raise invalid_body("Payload validation error: 'Too few properties defined (0), minimum 1'.")
    if isinstance(body.get("password"), str):
        _strong_enough(body["password"])
    with transaction.atomic():
        user = _user(tenant, user_id, lock=True)
        _apply(user, body)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise _exists() from None
    return user.profile


def _apply(user: SandboxUser, body: dict[str, Any]) -> None:
    profile = dict(user.profile)
    for key, value in body.items():
        if key in ("app_metadata", "user_metadata"):
            profile[key] = merge_metadata(profile.get(key) or {}, value)
        elif key == "email":
            profile["email"] = user.email = value.lower()
        elif key not in KEPT_APART and key not in NOT_KEPT:
            profile[key] = value
    profile["updated_at"] = iso_now()
    user.profile = profile


def merge_metadata(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Merge top-level keys as Auth0 does: null removes a key, an empty object clears all."""
    if not change:
        return {}
    merged = {**current, **change}
    return {key: value for key, value in merged.items() if value is not None}


def delete(tenant: SandboxTenant, user_id: str) -> None:
    """Delete the user; like Auth0, deleting a user that does not exist is no error."""
    SandboxUser.objects.filter(tenant=tenant, user_id=user_id).delete()


# Lists -------------------------------------------------------------------------------------


def search(tenant: SandboxTenant, query: dict[str, str]) -> list | dict[str, Any]:
    """``GET /api/v2/users``: ``q`` (``field:value``, dotted fields, ``*`` wildcards, or
    free text), ``page``, ``per_page`` (at most 100), ``include_totals``, ``fields`` and
    ``include_fields``."""
    page, per_page = _paging(query)
    q = query.get("q", "").strip()
    found = [u for u in _profiles(tenant) if matches(u, q)]
    shown = [selected(u, query) for u in found[page * per_page : (page + 1) * per_page]]
    if query.get("include_totals") != "true":
        return shown
    return {
        "start": page * per_page,
        "limit": per_page,
        "length": len(shown),
        "total": len(found),
        "users": shown,
    }


def by_email(tenant: SandboxTenant, query: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /api/v2/users-by-email``: the users with exactly this email (Auth0 keeps
    emails in lower case, and compares them as given)."""
    email = query.get("email")
    if not email:
        raise invalid_query("Query validation error: 'Missing required property: email'.")
    users = SandboxUser.objects.filter(tenant=tenant, email=email)
    return [selected(user.profile, query) for user in users]


def _profiles(tenant: SandboxTenant) -> list[dict[str, Any]]:
    return list(SandboxUser.objects.filter(tenant=tenant).values_list("profile", flat=True))


def _paging(query: dict[str, str]) -> tuple[int, int]:
    numbers = {}
    for name, default in (("page", 0), ("per_page", 50)):
        value = query.get(name, str(default))
        if not value.isdigit():
            raise invalid_query(
                f"Query validation error: 'Expected type integer' on property {name}."
            )
        numbers[name] = int(value)
    if not 1 <= numbers["per_page"] <= MAX_PER_PAGE:
        raise invalid_query(
            f"Query validation error: 'Too big: must be at most {MAX_PER_PAGE}' on property "
            "per_page."
        )
    return numbers["page"], numbers["per_page"]


def matches(user: dict[str, Any], q: str) -> bool:
    """Whether a user matches a search: ``field:"value"`` compares one field (dotted paths
    reach into metadata; ``*`` is a wildcard), anything else searches the whole user."""
    if not q:
        return True
    field, colon, value = q.partition(":")
    if colon and field and " " not in field:
        found = _dig(user, field)
        pattern = value.strip().strip('"').lower()
        return found is not None and fnmatch.fnmatchcase(_text(found).lower(), pattern)
    return q.strip('"').lower() in json.dumps(user, ensure_ascii=False).lower()


def _dig(user: dict[str, Any], path: str) -> Any:
    value: Any = user
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def selected(user: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """Apply ``fields`` and ``include_fields`` to a user."""
    fields = [f for f in query.get("fields", "").split(",") if f]
    if not fields:
        return user
    if query.get("include_fields", "true") == "false":
        return {k: v for k, v in user.items() if k not in fields}
    return {k: v for k, v in user.items() if k in fields}


# The Sandbox page --------------------------------------------------------------------------

PAGE_OPTIONAL = ("given_name", "family_name", "phone_number", "app_metadata", "user_metadata")


def add_sample(tenant: SandboxTenant, fields: dict[str, Any]) -> dict[str, Any]:
    """Create a user from the Sandbox page, in the database connection (the password that
    Auth0 requires there is a random one, dropped like every sandbox password)."""
    body = {"connection": DATABASE_CONNECTION, "password": secrets.token_urlsafe(18), **fields}
    return create(tenant, body)


def replace(tenant: SandboxTenant, user_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Save the Sandbox page's form: its fields as given, metadata replaced rather than
    merged, and an optional field left out removed."""
    problem = payloads.problem(fields, payloads.USER_UPDATE)
    if problem:
        raise invalid_body(problem)
    with transaction.atomic():
        user = _user(tenant, user_id, lock=True)
        profile = {k: v for k, v in user.profile.items() if k not in PAGE_OPTIONAL}
        user.profile = {**profile, **fields, "updated_at": iso_now()}
        if isinstance(fields.get("email"), str):
            user.profile["email"] = user.email = fields["email"].lower()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise _exists() from None
    return user.profile
