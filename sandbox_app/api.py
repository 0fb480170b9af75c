"""The sandbox tenant's Management API, served over HTTP like an Auth0 tenant's.

``/sandbox/<tenant>/oauth/token`` issues client-credentials tokens; ``/sandbox/<tenant>/api/v2/``
serves users: create, get, update, delete, list (with paging and ``q``) and users-by-email.
These views are outside the site's sign-in and CSRF checks: they check their own bearer
tokens, as Auth0 does. Anything else answers Auth0's 404 with a note header that Sluice's
client adds to the run's error.

Paths are read as the client sent them (ASGI's ``raw_path``; ``RAW_URI`` or ``REQUEST_URI``
under WSGI servers that pass it), so ``auth0%7C123`` and an encoded ``/`` in a user id
reach their user, while an unencoded ``|`` is a 404, as on Auth0.
"""

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox_app import limits, tokens, users
from sandbox_app.errors import ApiError, not_served
from sandbox_app.models import SandboxTenant
from sluice import sandbox

MAX_BODY = 1024 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
Handler = Callable[..., tuple[int, Any]]


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    if body is None:
        response = HttpResponse(status=status, content_type="application/json; charset=utf-8")
    else:
        response = JsonResponse(
            body, status=status, safe=False, json_dumps_params={"separators": (",", ":")}
        )
        response["Content-Type"] = "application/json; charset=utf-8"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _refusal(error: ApiError, headers: dict[str, str] | None = None) -> HttpResponse:
    response = _answer(error.status, error.body, headers)
    if error.note:
        response[sandbox.NOTE_HEADER] = error.note
    return response


def _no_tenant(slug: str) -> HttpResponse:
    return _refusal(
        ApiError(
            404,
            "Not Found",
            note=f"There is no sandbox tenant {slug}; the Sandbox page lists them.",
        )
    )


# /oauth/token --------------------------------------------------------------------------------


@csrf_exempt
@login_not_required
def token(request: HttpRequest, tenant: str) -> HttpResponse:
    found = SandboxTenant.objects.filter(slug=tenant).first()
    if found is None:
        return _no_tenant(tenant)
    if request.method != "POST":
        return _refusal(not_served(f"{request.method} /oauth/token"))
    params = _token_params(request)
    if params is None:
        body = {"error": "invalid_request", "error_description": "Invalid request body"}
        return _answer(400, body, NO_STORE)
    try:
        answer = tokens.issue(
            found, params, issuer=request.build_absolute_uri(f"/sandbox/{tenant}/")
        )
    except tokens.OAuthError as refused:
        return _answer(refused.status, refused.body, NO_STORE)
    return _answer(200, answer, NO_STORE)


def _token_params(request: HttpRequest) -> dict[str, str] | None:
    """The request's parameters, from a JSON or form body, with basic auth's client."""
    try:
        if len(request.body) > MAX_BODY:
            return None
    except RequestDataTooBig:
        return None
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return None
    else:
        body = request.POST.dict()
    if not isinstance(body, dict):
        return None
    params = {k: v for k, v in body.items() if isinstance(v, str)}
    basic = _basic_auth(request.headers.get("Authorization", ""))
    if basic:
        params.setdefault("client_id", basic[0])
        params.setdefault("client_secret", basic[1])
    return params


def _basic_auth(header: str) -> tuple[str, str] | None:
    kind, _, value = header.partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (unquote(user), unquote(password)) if sep else None


# /api/v2/… -----------------------------------------------------------------------------------


@csrf_exempt
@login_not_required
def management_api(request: HttpRequest, tenant: str, rest: str) -> HttpResponse:
    found = SandboxTenant.objects.filter(slug=tenant).first()
    if found is None:
        return _no_tenant(tenant)
    allowance = limits.take(found)
    try:
        if not allowance.allowed:
            raise ApiError(429, "Global limit has been reached", "too_many_requests")
        handler, args, scope = route(request.method or "GET", _raw_rest(request, tenant))
        tokens.check(found, request.headers.get("Authorization", ""), scope)
        status, body = handler(request, found, *args)
    except ApiError as error:
        return _refusal(error, allowance.headers)
    return _answer(status, body, allowance.headers)


def _raw_rest(request: HttpRequest, tenant: str) -> str:
    """The path after /api/v2/ as the client sent it, still percent-encoded."""
    prefix = sandbox.api_path(tenant)
    path = _raw_path(request)
    return path[len(prefix) :] if path.startswith(prefix) else ""


def _raw_path(request: HttpRequest) -> str:
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict) and scope.get("raw_path"):
        return scope["raw_path"].decode("latin-1")
    uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if uri:
        return urlsplit(uri).path
    return quote(request.path, safe="/")  # the server passed only the decoded path


def route(method: str, rest: str) -> tuple[Handler, tuple[str, ...], str]:
    """The handler, its arguments and the scope it needs, for ``method`` on ``rest``."""
    segments = rest.split("/")
    one_user = len(segments) == 2 and segments[0] == "users" and segments[1] != ""
    shape = "users/{id}" if one_user else rest
    found = ROUTES.get((method, shape))
    if found is None:
        raise not_served(f"{method} /api/v2/{shape}")
    handler, scope = found
    if not one_user:
        return handler, (), scope
    if "|" in segments[1]:
        raise ApiError(
            404,
            "Not Found",
            note="The user ID in the path must be URL-encoded (auth0%7C..., as "
            "functions.encodeURIComponent does): an unencoded | is Auth0's 404.",
        )
    return handler, (unquote(segments[1]),), scope


def _query(request: HttpRequest) -> dict[str, str]:
    return {name: values[-1] for name, values in request.GET.lists()}


def _body(request: HttpRequest) -> Any:
    too_large = ApiError(413, f"Payload content length greater than maximum allowed: {MAX_BODY}")
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(raw) > MAX_BODY:
        raise too_large
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Invalid request payload JSON format") from None


def list_users(request: HttpRequest, tenant: SandboxTenant) -> tuple[int, Any]:
    return 200, users.search(tenant, _query(request))


def create_user(request: HttpRequest, tenant: SandboxTenant) -> tuple[int, Any]:
    return 201, users.create(tenant, _body(request))


def users_by_email(request: HttpRequest, tenant: SandboxTenant) -> tuple[int, Any]:
    return 200, users.by_email(tenant, _query(request))


def get_user(request: HttpRequest, tenant: SandboxTenant, user_id: str) -> tuple[int, Any]:
    return 200, users.selected(users.get(tenant, user_id), _query(request))


def update_user(request: HttpRequest, tenant: SandboxTenant, user_id: str) -> tuple[int, Any]:
    return 200, users.update(tenant, user_id, _body(request))


def delete_user(request: HttpRequest, tenant: SandboxTenant, user_id: str) -> tuple[int, Any]:
    users.delete(tenant, user_id)
    return 204, None


ROUTES: dict[tuple[str, str], tuple[Handler, str]] = {
    ("GET", "users"): (list_users, "read:users"),
    ("POST", "users"): (create_user, "create:users"),
    ("GET", "users-by-email"): (users_by_email, "read:users"),
    ("GET", "users/{id}"): (get_user, "read:users"),
    ("PATCH", "users/{id}"): (update_user, "update:users"),
    ("DELETE", "users/{id}"): (delete_user, "delete:users"),
}
