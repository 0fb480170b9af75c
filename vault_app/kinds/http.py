"""HTTP connections (Auth0's ``app_id: "HTTP"``): credentials for the HTTP request action.

One kind with Auth0's four setups: a bearer token, basic authentication, an API key in a
header or the query, and OAuth client credentials. Sluice adds ``hosts``: the hosts the
credentials may be sent to, so a flow cannot carry them anywhere else.
"""

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from sluice import metrics
from vault_app.clients import guarded
from vault_app.kinds.base import (
    CHOICE,
    SECRET,
    ConnectionKind,
    Field,
    TestResult,
    is_local_endpoint,
    validate_host_name,
)

BEARER, BASIC_AUTH, API_KEY, OAUTH = "BEARER", "BASIC_AUTH", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"
SETUPS = (
    (BEARER, "Bearer token"),
    (BASIC_AUTH, "Basic authentication"),
    (API_KEY, "API key"),
    (OAUTH, "OAuth client credentials"),
)
HEADER, QUERY = "HEADER", "QUERY"
TOKEN_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(?P<port>\d{1,5}))?$")


def parse_hosts(value: Any) -> list[tuple[str, int | None]]:
    """``"api.example.com, 127.0.0.1:8080"`` as [(host, port or None), …], lower-case."""
    found = []
    for item in re.split(r"[,\s]+", str(value or "").strip().lower()):
        match = HOST_PORT.match(item) if item else None
        if match:
            port = int(match["port"]) if match["port"] else None
            found.append((match["host"].strip("[]").rstrip("."), port))
    return found


def validate_hosts(value: str) -> str:
    items = [item for item in re.split(r"[,\s]+", value.strip().lower()) if item]
    if not items:
        raise ValidationError("Enter at least one host, such as api.example.com.")
    for item in items:
        match = HOST_PORT.match(item)
        if match is None or (match["port"] and not 0 < int(match["port"]) < 65536):
            raise ValidationError(f"{item!r} is not a host, or a host:port.")
        host = match["host"].strip("[]")
        if guarded.host_is_trusted(host) or is_local_endpoint(item):
            continue
        try:
            validate_host_name(host)
        except ValidationError as exc:
            raise ValidationError(f"{item}: {exc.messages[0]}") from None
    return ", ".join(items)


def validate_token_endpoint(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    trusted = parts.hostname is not None and guarded.host_is_trusted(parts.hostname)
    if parts.scheme != "https" and not (parts.scheme == "http" and trusted):
        raise ValidationError("Enter the token endpoint's https:// address.")
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise ValidationError("Enter an address such as https://login.example.com/oauth/token.")
    return value


def validate_key_name(value: str) -> str:
    if not TOKEN_NAME.match(value.strip()):
        raise ValidationError("A header or parameter name has letters, digits and - _ . only.")
    return value.strip()


def validate_username(value: str) -> str:
    if ":" in value:
        raise ValidationError("A basic-auth username cannot contain a colon (RFC 7617).")
    return value


def token_form(credentials: Mapping[str, Any]) -> dict[str, str]:
    """The client-credentials grant as a form (client_secret_post), optional parts when set."""
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }
    for name in ("audience", "resource", "scope"):
        if credentials.get(name):
            form[name] = credentials[name]
    return form


def request_token(credentials: Mapping[str, Any]) -> guarded.Reply:
    """Ask the token endpoint for a token; never follows a redirect (the secret is in it)."""
    request = httpx.Request(
        "POST",
        credentials["token_endpoint"],
        data=token_form(credentials),
        headers={"Accept": "application/json"},
    )
    try:
        reply = guarded.fetch(request, timeout=settings.OUTBOUND_TIMEOUT, follow_redirects=False)
    except guarded.OutboundError:
        metrics.token_requested("http", "error")
        raise
    metrics.token_requested("http", "issued" if access_token(reply) else "refused")
    return reply


def token_error(reply: guarded.Reply) -> str:
    """What the token endpoint said, in OAuth's words (``error``, ``error_description``)."""
    body = _json(reply)
    where = reply.url.host
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        detail = body.get("error_description")
        said = f"{body['error']}: {detail}" if isinstance(detail, str) and detail else body["error"]
        return f"The token endpoint {where} refused ({reply.status}): {said}"
    if 200 <= reply.status < 300:
        return f"The token endpoint {where} answered without an access_token."
    return f"The token endpoint {where} answered HTTP {reply.status} {reply.reason}."


def _json(reply: guarded.Reply) -> Any:
    try:
        return json.loads(reply.content)
    except ValueError:
        return None


def access_token(reply: guarded.Reply) -> tuple[str, float | None] | None:
    """(access token, lifetime in seconds or None) from a token answer, None if there is none."""
    body = _json(reply)
    token = body.get("access_token") if isinstance(body, dict) else None
    if not 200 <= reply.status < 300 or not isinstance(token, str) or not token:
        return None
    lifetime = body.get("expires_in")
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)
    ok = isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0
    return token, float(lifetime) if ok else None


def describe(credentials: Mapping[str, Any]) -> str:
    """How the credentials are sent, in a sentence's middle: "as Authorization: Bearer …"."""
    setup = credentials.get("setup")
    if setup == BASIC_AUTH:
        return "as Authorization: Basic (username and password)"
    if setup == API_KEY:
        where = "query parameter" if credentials.get("key_in") == QUERY else "header"
        return f"as the {where} {credentials.get('key_name')}"
    if setup == OAUTH:
        return "as Authorization: Bearer, with a token from the token endpoint"
    return "as Authorization: Bearer"


def test(credentials: Mapping[str, Any]) -> TestResult:
    hosts = parse_hosts(credentials.get("hosts"))
    for host, port in hosts:
        try:
            guarded.vetted_addresses(host, port or 443)
        except guarded.AddressRefused as exc:
            return TestResult(False, str(exc), field="hosts")
        except Exception:  # noqa: BLE001  (the resolver's errors vary by platform)
            return TestResult(False, f"{host} does not resolve.", field="hosts")
    if credentials.get("setup") == OAUTH:
        return _test_oauth(credentials)
    shown = ", ".join(host for host, _ in hosts)
    return TestResult(
        True,
        f"Sluice sends the credentials {describe(credentials)} to {shown}, which it may "
        "reach. Only your API can tell whether they are accepted: run a step that uses them.",
    )


def _test_oauth(credentials: Mapping[str, Any]) -> TestResult:
    try:
        reply = request_token(credentials)
    except guarded.OutboundError as exc:
        return TestResult(False, str(exc), field="token_endpoint")
    issued = access_token(reply)
    if issued is None:
        field = "client_secret" if reply.status == 401 else "token_endpoint"
        body = _json(reply)
        if isinstance(body, dict) and body.get("error") in ("invalid_scope", "invalid_target"):
            field = "scope"
        return TestResult(False, token_error(reply), field=field)
    lifetime = f", valid for {issued[1]:g} s" if issued[1] else ""
    return TestResult(True, f"The token endpoint issued an access token{lifetime}.")


def _setup(name: str) -> tuple[str, str]:
    return ("setup", name)


KIND = ConnectionKind(
    key="http",
    app_id="HTTP",
    label="HTTP",
    description="Credentials for HTTP request steps: a bearer token, basic authentication, "
    "an API key, or OAuth client credentials.",
    fields=(
        Field("setup", "Setup", kind=CHOICE, choices=SETUPS, default=BEARER),
        Field(
            "hosts",
            "Hosts",
            validate=validate_hosts,
            max_length=1000,
            placeholder="api.example.com",
            help="The hosts the credentials are sent to, comma-separated (host or host:port). "
            "A step with this connection that calls another host fails before sending.",
        ),
        Field("token", "Token", kind=SECRET, shown_for=_setup(BEARER)),
        Field(
            "username",
            "Username",
            validate=validate_username,
            max_length=155,
            shown_for=_setup(BASIC_AUTH),
        ),
        Field("password", "Password", kind=SECRET, required=False, shown_for=_setup(BASIC_AUTH)),
        Field(
            "key_name",
            "Key name",
            validate=validate_key_name,
            max_length=55,
            placeholder="X-API-Key",
            shown_for=_setup(API_KEY),
        ),
        Field("key_value", "Key value", kind=SECRET, shown_for=_setup(API_KEY)),
        Field(
            "key_in",
            "Add to",
            kind=CHOICE,
            choices=((HEADER, "Header"), (QUERY, "Query parameter")),
            default=HEADER,
            shown_for=_setup(API_KEY),
        ),
        Field("client_id", "Client ID", shown_for=_setup(OAUTH)),
        Field("client_secret", "Client Secret", kind=SECRET, shown_for=_setup(OAUTH)),
        Field(
            "token_endpoint",
            "Token endpoint",
            validate=validate_token_endpoint,
            max_length=500,
            placeholder="https://login.example.com/oauth/token",
            shown_for=_setup(OAUTH),
        ),
        Field("audience", "Audience", required=False, shown_for=_setup(OAUTH)),
        Field("resource", "Resource", required=False, shown_for=_setup(OAUTH)),
        Field(
            "scope",
            "Scope",
            required=False,
            max_length=1024,
            help="Space-separated scopes.",
            shown_for=_setup(OAUTH),
        ),
    ),
    test=test,
)
