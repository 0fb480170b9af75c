"""Bearer tokens for the HTTP API: make, revoke and check them; only their hash is stored.

A token is ``slt_`` followed by 43 url-safe random characters. The database keeps its
SHA-256 (to find it) and its first twelve characters (so people can recognise it); the
token itself is shown once, when it is created, and never logged.
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from flows_app.models import Flow, FlowToken, FlowVersion
from flows_app.plain_sql import records

log = logging.getLogger(__name__)

TOKEN_PREFIX = "slt_"
PREFIX_LENGTH = 12
MAX_TOKEN_LENGTH = 200
# "Last used" is shown to the minute; writing it on every request would cost a query each.
LAST_USED_PRECISION = timedelta(minutes=1)

TokenView = Callable[..., HttpResponse]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@sensitive_variables("token")
@transaction.atomic
def create_token(flow: Flow, *, name: str, user=None) -> tuple[FlowToken, str]:
    """Make a token for ``flow``; return its record and the token, which is not kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = FlowToken.objects.create(
        flow=flow,
        name=name,
        token_hash=hash_token(token),
        prefix=token[:PREFIX_LENGTH],
        created_by=user,
    )
    log.info("API token %s (%r) of flow %s created.", record.pk, name, flow.pk)
    return record, token


def revoke_token(record: FlowToken) -> bool:
    """Revoke a token for good; return False when it was already revoked."""
    revoked = FlowToken.objects.filter(pk=record.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    record.refresh_from_db()
    if revoked:
        log.info("API token %s (%r) of flow %s revoked.", record.pk, record.name, record.flow_id)
    return bool(revoked)


@sensitive_variables("token", "header")
def token_of(request: HttpRequest) -> FlowToken | None:
    """The active token in the request's ``Authorization: Bearer`` header, or None; with its
    flow, and the id of the flow's latest published version as ``latest_version_id``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    well_formed = token.startswith(TOKEN_PREFIX) and len(token) <= MAX_TOKEN_LENGTH
    if scheme.lower() != "bearer" or not well_formed:
        return None
    digest = hash_token(token)
    found = records(FlowToken, TOKEN_OF, [digest], _TOKEN_FIELDS, extra=_TOKEN_EXTRA)
    record = found[0] if found else None
    if record is not None:  # its flow as far as the API shows it; the rest loads if asked
        name = record.flow_name  # type: ignore[attr-defined]
        record.flow = Flow.from_db(record._state.db, ["id", "name"], [record.flow_id, name])
    if record is None or not hmac.compare_digest(record.token_hash, digest):
        return None
    if not record.active:
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_PRECISION:
        record.last_used_at = now
        FlowToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record


# Every API request looks its token up, with its flow's name and the id of the flow's latest
# published version (what starting a run needs), and not the flow's draft and editing
# history. Plain SQL: built by the ORM, the same query took four times the CPU.
_TOKEN_FIELDS = [
    field
    for field in FlowToken._meta.concrete_fields
    if field.name in ("id", "flow", "name", "token_hash", "prefix", "last_used_at", "revoked_at")
]
_TOKEN_EXTRA = ("flow_name", "latest_version_id")
TOKEN_OF = f"""
    SELECT {", ".join(f"token.{field.column}" for field in _TOKEN_FIELDS)}, flow.name,
        (SELECT version.id FROM {FlowVersion._meta.db_table} version
         WHERE version.flow_id = token.flow_id ORDER BY version.number DESC LIMIT 1)
        AS latest_version_id
    FROM {FlowToken._meta.db_table} token
    JOIN {Flow._meta.db_table} flow ON flow.id = token.flow_id
    WHERE token.token_hash = %s
"""


def api_error(status: int, error: str, message: str, **extra: Any) -> JsonResponse:
    return no_store(JsonResponse({"error": error, "message": message, **extra}, status=status))


def no_store[R: HttpResponse](response: R) -> R:
    add_never_cache_headers(response)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def unauthorized(message: str, *, invalid: bool) -> JsonResponse:
    response = api_error(401, "unauthorized", message)
    challenge = 'Bearer realm="sluice"'
    if invalid:
        challenge += ', error="invalid_token"'
    response["WWW-Authenticate"] = challenge
    return response


def bearer_api(*methods: str) -> Callable[[TokenView], TokenView]:
    """Make a view part of the token-authenticated API.

    No session and no CSRF: the view answers 405 for other methods and 401 without an
    active token, before it looks at any id, and is called as ``view(request, token, ...)``.
    """

    def decorator(view: TokenView) -> TokenView:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            token = authenticate(request, methods)
            if isinstance(token, HttpResponse):
                return token
            return no_store(view(request, token, *args, **kwargs))

        return api_view(wrapper)

    return decorator


def api_view[V: Callable](view: V) -> V:
    """No session sign-in and no CSRF check: the API authenticates with its tokens."""
    return csrf_exempt(login_not_required(view))


def authenticate(request: HttpRequest, methods: tuple[str, ...]) -> FlowToken | HttpResponse:
    """The request's active token, or the answer refusing it: 405 for another method, 401
    without an active token (and a 400 for a host Sluice does not serve)."""
    request.get_host()  # the API has no CommonMiddleware to check it
    if request.method not in methods:
        response = api_error(405, "method_not_allowed", f"Use {' or '.join(methods)} on this URL.")
        response["Allow"] = ", ".join(methods)
        return response
    if not request.headers.get("Authorization"):
        return unauthorized("Send a flow token: Authorization: Bearer slt_…", invalid=False)
    token = token_of(request)
    if token is None:
        return unauthorized("The token is unknown or has been revoked.", invalid=True)
    return token
