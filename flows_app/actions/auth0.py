"""Auth0 actions: Create user, Get user, Update user and Custom API request."""

import re
from collections.abc import Iterator
from typing import Any

from flows_app.actions.base import (
    CHOICE,
    CONNECTION,
    JSON_TEMPLATE,
    KEY_VALUE,
    ActionType,
    Input,
    StepContext,
    StepFailed,
    StepOutcome,
)
from vault_app.clients.auth0 import ApiResponse, ManagementApiError, ManagementClient
from vault_app.clients.auth0_requests import InvalidRequest, api_path, check_path_parts
from vault_app.crypto import VaultKeyError

GROUP = "Auth0"
CONNECTION_INPUT = Input(
    "connection_id",
    "Connection",
    kind=CONNECTION,
    required=True,
    connection_kind="auth0",
    help="The Auth0 machine-to-machine application (from the vault) to call the API with.",
)
USER_ID = Input(
    "user_id",
    "User ID",
    required=True,
    help="ID of the user, such as {{ context.user.user_id }}.",
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _client(inputs: dict[str, Any], ctx: StepContext) -> ManagementClient:
    connection = ctx.connection(inputs["connection_id"], "auth0")
    try:
        return ManagementClient(connection, http=ctx.http)
    except VaultKeyError as exc:
        raise StepFailed(f"Connection “{connection}”: {exc} Enter the secrets again.") from None


def _call(send) -> ApiResponse:
    """Turn the Management API's errors into a step failure that keeps Auth0's body, and a
    request the client refuses to send into a step failure that says why."""
    try:
        return send()
    except ManagementApiError as exc:
        raise StepFailed(str(exc), body=exc.body, status=exc.status) from None
    except InvalidRequest as exc:
        raise StepFailed(str(exc)) from None


def _object(inputs: dict[str, Any], name: str, label: str) -> dict:
    value = inputs.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StepFailed(f"{label} must be a JSON object, got {type(value).__name__}.")
    return value


def create_user(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    body = _object(inputs, "payload", "Body")
    response = _call(lambda: _client(inputs, ctx).create_user(body))
    return StepOutcome(response.body, response.status)


def get_user(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    user_id = _user_id(inputs)
    response = _call(lambda: _client(inputs, ctx).get_user(user_id))
    return StepOutcome(response.body, response.status)


def update_user(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    user_id = _user_id(inputs)
    body = _object(inputs, "changes", "Body")
    response = _call(lambda: _client(inputs, ctx).update_user(user_id, body))
    return StepOutcome(response.body, response.status)


def _user_id(inputs: dict[str, Any]) -> str:
    user_id = str(inputs.get("user_id") or "").strip()
    if not user_id:
        raise StepFailed("User ID rendered empty; check the template and the test data.")
    return user_id


_OUTPUT = re.compile(r"(\{\{-?.*?-?\}\})", re.DOTALL)


def _check_path(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """A path the client would refuse whatever its templates render to is a problem now."""
    path = params.get("pathname")
    if not isinstance(path, str) or not path or "{%" in path:  # tags may leave text out
        return
    pieces = _OUTPUT.split(path)
    parts: list[str | None] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            parts.append(None)
            continue
        if index > 0 and pieces[index - 1].endswith("-}}"):
            piece = piece.lstrip()
        if index + 1 < len(pieces) and pieces[index + 1].startswith("{{-"):
            piece = piece.rstrip()
        parts.append(piece)
    try:
        check_path_parts(parts)
    except InvalidRequest as exc:
        yield "pathname", str(exc)


def send_request(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    method = str(inputs.get("method") or "GET").upper()
    if method not in METHODS:
        raise StepFailed(f"Method must be one of {', '.join(METHODS)}, got {method!r}.")
    try:
        path = api_path(str(inputs.get("pathname") or ""))
    except InvalidRequest as exc:
        raise StepFailed(str(exc)) from None
    payload = inputs.get("payload")
    response = _call(
        lambda: _client(inputs, ctx).request(
            method,
            path,
            json=payload if payload not in (None, "", {}) and method != "GET" else None,
            params=_object(inputs, "params", "URL Params") or None,
            headers=_object(inputs, "headers", "Headers"),
        )
    )
    output = {
        "status": response.status,
        "headers": response.headers,
        "body": response.body,
        "success": 200 <= response.status < 300,
    }
    return StepOutcome(output, response.status)


CREATE_USER = ActionType(
    type="AUTH0",
    action="CREATE_USER",
    group=GROUP,
    label="Create user",
    description="Create a user.",
    inputs=(
        CONNECTION_INPUT,
        Input(
            "payload",
            "Body",
            kind=JSON_TEMPLATE,
            required=True,
            help="The Auth0 user properties to add (POST /api/v2/users): connection, email, "
            "password, user_metadata, …",
        ),
    ),
    output="The created user, as the Management API returns it (201).",
    run=create_user,
)
GET_USER = ActionType(
    type="AUTH0",
    action="GET_USER",
    group=GROUP,
    label="Get user",
    description="Retrieve user details.",
    inputs=(CONNECTION_INPUT, USER_ID),
    output="The user, as GET /api/v2/users/{id} returns it: {{ actions.<id>.email }}, "
    "{{ actions.<id>.app_metadata.plan }}, …",
    run=get_user,
)
UPDATE_USER = ActionType(
    type="AUTH0",
    action="UPDATE_USER",
    group=GROUP,
    label="Update user",
    description="Update a user.",
    inputs=(
        CONNECTION_INPUT,
        USER_ID,
        Input(
            "changes",
            "Body",
            kind=JSON_TEMPLATE,
            required=True,
            help="The user properties to update (PATCH /api/v2/users/{id}); app_metadata and "
            "user_metadata are merged key by key, and a key set to null is removed.",
        ),
    ),
    output="The updated user, as the Management API returns it.",
    run=update_user,
)
SEND_REQUEST = ActionType(
    type="AUTH0",
    action="SEND_REQUEST",
    group=GROUP,
    label="Custom API request",
    description="Send a custom API request to Auth0 API endpoints.",
    inputs=(
        CONNECTION_INPUT,
        Input(
            "pathname",
            "Path",
            required=True,
            help="The API endpoint absolute pathname, such as /api/v2/organizations. Encode "
            "parameters: {{ functions.encodeURIComponent(context.user.user_id) }}.",
        ),
        Input("method", "Method", kind=CHOICE, choices=METHODS, default="GET", required=True),
        Input("payload", "Body", kind=JSON_TEMPLATE, help="The body of the request."),
        Input("headers", "Headers", kind=KEY_VALUE, help="The headers of the request."),
        Input(
            "params",
            "URL Params",
            kind=KEY_VALUE,
            help="The URL parameters. These parameters are automatically URL-encoded.",
        ),
    ),
    output='{"status", "headers", "body", "success"}: the API\'s answer.',
    run=send_request,
    extra={"check": _check_path},
)

ACTIONS = (CREATE_USER, GET_USER, UPDATE_USER, SEND_REQUEST)
