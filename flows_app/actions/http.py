"""The HTTP request action (Auth0's ``type: "HTTP"``, ``action: "SEND_REQUEST"``).

The request is built from the step's params (``auth0-catalogue.md`` A1): the URL plus URL
params, the headers, the body encoded by content type, Basic Auth, and last the optional
vault connection's credentials (:mod:`vault_app.clients.http`). It goes out through the
guarded client, which refuses private addresses and caps time and size. Any answer is an
output, ``{"status", "headers", "body", "success"}``; only a request that could not be made
or answered fails the step.
"""

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from flows_app.actions.base import (
    CHOICE,
    CONNECTION,
    JSON_TEMPLATE,
    KEY_VALUE,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)
from flows_app.actions.codecs import CodecError, js_text, stringify, to_xml
from vault_app.clients import guarded
from vault_app.clients.http import ConnectionAuth, TokenRefused

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CONTENT_TYPES = {
    "JSON": "application/json",
    "FORM": "application/x-www-form-urlencoded",
    "XML": "application/xml",
}
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}
HEADER_NAME = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
URL_LIMIT = 8192
USER_AGENT = "Sluice (HTTP request step)"
MASK = "[redacted]"


# The request ---------------------------------------------------------------------------------


def build_request(inputs: dict[str, Any]) -> httpx.Request:
    """The request the step's rendered inputs describe; StepFailed says what is wrong."""
    method = str(inputs.get("method") or "POST").upper()
    if method not in METHODS:
        raise StepFailed(f"Method must be one of {', '.join(METHODS)}, not {method!r}.")
    content_type = str(inputs.get("content_type") or "JSON").upper()
    if content_type not in CONTENT_TYPES:
        raise StepFailed(f"Content type must be JSON, FORM or XML, not {content_type!r}.")
    url = build_url(inputs.get("url"), inputs.get("params"))
    headers = {"Accept": "*/*", "User-Agent": USER_AGENT, **build_headers(inputs.get("headers"))}
    body = build_body(method, inputs.get("payload"), content_type)
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = CONTENT_TYPES[content_type]
    basic = inputs.get("basic")
    if isinstance(basic, dict) and basic:
        headers["Authorization"] = basic_authorization(basic)
    return httpx.Request(method, url, headers=headers, content=body)


def build_url(raw: Any, params: Any) -> httpx.URL:
    """``url`` with the URL params appended, each value percent-encoded."""
    text = str(raw or "").strip()
    if not text:
        raise StepFailed("URL rendered empty; check the template and the test data.")
    if len(text) > URL_LIMIT:
        raise StepFailed(f"The URL is longer than {URL_LIMIT} characters.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise StepFailed("The URL contains line breaks or other control characters.")
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise StepFailed(f"The URL {text[:200]} is not valid: {exc}.") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise StepFailed(f"The URL must be absolute, starting with https://, not {text[:200]}.")
    if "%" in url.host or any(ch.isspace() for ch in url.host):
        raise StepFailed(f"The URL's host {url.host[:100]!r} is not a valid host name.")
    if url.port is not None and not 0 < url.port < 65536:
        raise StepFailed(f"The URL's port {url.port} is out of range (1-65535).")
    if url.userinfo:
        raise StepFailed(
            "The URL may not carry a username or password: use Basic Auth or a vault connection."
        )
    pairs = query_pairs(params)
    if pairs:
        extra = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
        query = url.query.decode()
        url = url.copy_with(query=(f"{query}&{extra}" if query else extra).encode())
    return url.copy_with(fragment=None)


def query_pairs(params: Any) -> list[tuple[str, str]]:
    if params in (None, ""):
        return []
    if not isinstance(params, dict):
        raise StepFailed("URL params must be names and values.")
    pairs = []
    for name, value in params.items():
        if isinstance(value, dict | list):
            raise StepFailed(f"URL param {name!r} must be text or a number, not a list or object.")
        if value is not None:
            pairs.append((str(name), js_text(value)))
    return pairs


def build_headers(value: Any) -> dict[str, str]:
    """The step's headers as text: numbers and true/false as text, objects as JSON; a null
    value drops the header."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StepFailed("Headers must be names and values.")
    headers = {}
    for name, item in value.items():
        name = str(name).strip()
        if not name or not set(name) <= HEADER_NAME:
            raise StepFailed(f"{name[:60]!r} is not a valid header name.")
        if name.lower() in RESERVED_HEADERS:
            raise StepFailed(f"The {name} header is set by Sluice from the URL and the body.")
        if item is None:
            continue
        text = js_text(item)
        if any(ord(ch) < 32 and ch != "\t" or ord(ch) == 127 for ch in text):
            raise StepFailed(f"The {name} header contains a line break or control character.")
        headers[name] = text
    return headers


def build_body(method: str, payload: Any, content_type: str) -> bytes | None:
    """The body: none for GET or without a payload, text as it is, else encoded by type."""
    if method == "GET" or payload is None:
        return None
    if isinstance(payload, str):
        return payload.encode()
    if content_type == "FORM":
        return form_body(payload).encode()
    if content_type == "XML":
        try:
            return to_xml(payload).encode()
        except CodecError as exc:
            raise StepFailed(f"The body cannot be sent as XML: {exc}") from None
    return stringify(payload).encode()


def form_body(payload: Any) -> str:
    if not isinstance(payload, dict):
        raise StepFailed("A form body must be an object of fields, not a list or a value.")
    pairs = []
    for name, value in payload.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((str(name), js_text(item)))
    return urlencode(pairs)


def basic_authorization(basic: dict[str, Any]) -> str:
    pair = f"{js_text(basic.get('username') or '')}:{js_text(basic.get('password') or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


# The answer ----------------------------------------------------------------------------------


def response_output(reply: guarded.Reply) -> dict[str, Any]:
    return {
        "status": reply.status,
        "headers": response_headers(reply.headers),
        "body": response_body(reply),
        "success": 200 <= reply.status < 300,
    }


def response_headers(headers: httpx.Headers) -> dict[str, Any]:
    """Lower-case names; repeated headers joined with ", ", except set-cookie: a list."""
    joined: dict[str, Any] = {}
    for name, value in headers.multi_items():
        name = name.lower()
        if name == "set-cookie":
            joined.setdefault(name, []).append(value)
        elif name in joined:
            joined[name] = f"{joined[name]}, {value}"
        else:
            joined[name] = value
    return joined


def response_body(reply: guarded.Reply) -> Any:
    """Parsed JSON for a JSON content type, else the text; null when empty."""
    if not reply.content:
        return None
    text = reply.text()
    kind = reply.content_type
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text
    return text


def _scrub(value: Any, hidden: list[str]) -> Any:
    if isinstance(value, str):
        for secret in hidden:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, hidden) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, hidden) for item in value]
    return value


# The action ----------------------------------------------------------------------------------


def send_request(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    request = build_request(inputs)
    connection_id = inputs.get("connection_id")
    hidden: list[str] = []
    try:
        if connection_id in (None, ""):
            reply = guarded.fetch(request)
        else:
            auth = ConnectionAuth(ctx.connection(connection_id, "http"))
            if not auth.covers(request.url):
                raise StepFailed(
                    f"The connection {auth.connection.name} sends its credentials only to "
                    f"{auth.host_names} over https; this URL is {request.url.scheme}://"
                    f"{request.url.netloc.decode()}. An admin can add the host to the connection."
                )
            reply = auth.send(request)
            hidden = auth.secret_values()
    except TokenRefused as exc:
        raise StepFailed(str(exc), body=exc.body, status=exc.status) from None
    except guarded.OutboundError as exc:
        raise StepFailed(str(exc)) from None
    return StepOutcome(_scrub(response_output(reply), hidden), reply.status)


def _check(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    payload = params.get("payload")
    if payload is not None and not isinstance(payload, dict | list | str):
        yield "payload", "Must be a JSON object, a list or text."
    for name, value in (
        (params.get("params") or {}).items() if isinstance(params.get("params"), dict) else ()
    ):
        if isinstance(value, bool):
            yield "params", f"{name}: a URL param is text or a number."
    basic = params.get("basic")
    if isinstance(basic, dict):
        for key, value in basic.items():
            if key not in ("username", "password"):
                yield "basic", f"{key!r}: Basic Auth has only a username and a password."
            elif not isinstance(value, str) or not value:
                yield "basic", f"The {key} must be text."


def _warn(params: dict[str, Any]) -> Iterator[str]:
    if params.get("basic") and params.get("connection_id") not in (None, ""):
        yield (
            "Basic Auth and a vault connection are both set: the connection's credentials are "
            "applied last and replace the Basic Auth header."
        )


SEND_REQUEST = ActionType(
    type="HTTP",
    action="SEND_REQUEST",
    group="HTTP",
    label="HTTP request",
    description="Send a request to any API and read its answer.",
    inputs=(
        Input(
            "connection_id",
            "Vault connection",
            kind=CONNECTION,
            connection_kind="http",
            help="Optional: an HTTP connection whose credentials (token, API key, OAuth…) "
            "are added to the request. The flow never sees them.",
        ),
        Input(
            "url",
            "URL",
            required=True,
            help="An absolute URL, such as https://api.example.com/invites/verify. Encode "
            "values in a path with {{ functions.encodeURIComponent(…) }}.",
        ),
        Input("method", "Method", kind=CHOICE, choices=METHODS, default="POST"),
        Input("headers", "Headers", kind=KEY_VALUE, help="Sent as they are."),
        Input(
            "params",
            "URL params",
            kind=KEY_VALUE,
            help="Added to the URL's query; URL-encoded automatically.",
        ),
        Input(
            "content_type",
            "Content type",
            kind=CHOICE,
            choices=tuple(CONTENT_TYPES),
            default="JSON",
            help="How the body is encoded: JSON, a form (application/x-www-form-urlencoded) "
            "or XML. A Content-Type header wins.",
        ),
        Input(
            "payload",
            "Body",
            kind=JSON_TEMPLATE,
            text_allowed=True,
            help="An object or list encoded by the content type, or text sent as it is. "
            "Not sent with GET.",
        ),
        Input(
            "basic",
            "Basic Auth",
            kind=KEY_VALUE,
            help="username and password rows; a vault connection keeps them out of the flow.",
        ),
    ),
    output='{"status", "headers", "body", "success"}: the answer, whatever its status; body '
    "is parsed JSON for a JSON answer, else text: {{ actions.<id>.body.valid }}.",
    output_fields=(
        OutputField("status", "The HTTP status of the answer, such as 200."),
        OutputField("success", "Whether the status was 200–299 (true/false)."),
        OutputField("body", "The answer's body: parsed JSON for a JSON answer, text otherwise."),
        OutputField("headers", "The answer's headers, names in lower case (an object)."),
        OutputField("headers.content-type", "The answer's content type."),
    ),
    run=send_request,
    extra={"check": _check, "warn": _warn},
)

ACTIONS = (SEND_REQUEST,)
