"""An Auth0 tenant stand-in: a real HTTP server on 127.0.0.1 that answers like Auth0.

The module also holds the machinery every HTTP stand-in shares (``HttpStandin``): a routing
table, a thread-safe request log and canned answers that override the next N requests to a
path. ``Auth0Standin`` adds the tenant: its machine-to-machine clients, ``/oauth/token``, the
tokens it issued and Auth0's rate-limit headers, and a slice of the Management API: users
(create, list and search, get, update) and organizations (list, create, get, delete), with
Auth0's bearer checks, scopes, error bodies and payload validation. More endpoints are added with
``standin.route(method, "/api/v2/users/{id}", handler)`` (the latest registration of a path
wins); a handler takes the recorded request and the decoded path parameters and returns a
``Reply``; ``authorize()`` checks the bearer token the way the Management API does.
"""

import base64
import binascii
import json
import re
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HOST = "127.0.0.1"


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    """An answer: ``body`` dict/list is sent as JSON, str/bytes as they are."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", self.content_type or "application/json; charset=utf-8"
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/plain; charset=utf-8"
        data = json.dumps(self.body).encode()
        return data, self.content_type or "application/json; charset=utf-8"

    def json(self) -> Any:
        return self.body


@dataclass
class Recorded:
    """One request as the stand-in received it, and the answer it gave."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    body: Any
    reply: Reply | None = None
    at: float = field(default_factory=time.time)
    target: str = ""  # the request line's path and query, as sent
    peer: tuple = ()  # the client's address and port: one per connection it opened

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """The user and password of an HTTP basic ``Authorization`` header, if one came."""
        scheme, _, value = (self.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (unquote(user), unquote(password)) if sep else None

    @property
    def bearer(self) -> str | None:
        scheme, _, value = (self.header("authorization") or "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None


Handler = Callable[..., Reply]


@dataclass
class Route:
    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern = field(init=False)

    def __post_init__(self):
        self.regex = compile_path(self.pattern)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(path)
        return {k: unquote(v) for k, v in found.groupdict().items()} if found else None


def compile_path(pattern: str) -> re.Pattern:
    """Turn ``/api/v2/users/{id}`` into a regex; a ``{name}`` matches one path segment."""
    parts = re.split(r"\{(\w+)\}", pattern)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(regex)


@dataclass
class Canned:
    """A forced answer for the next ``times`` requests whose path matches."""

    regex: re.Pattern
    method: str | None
    reply: Reply
    times: int


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; keep-alive stalls
    server_version = "standin"
    sys_version = ""

    def _dispatch(self):
        self.server.standin._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format, *args):  # noqa: A002 - the signature is http.server's
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class HttpStandin:
    """A vendor stand-in: an HTTP server in a background thread with a request log.

    ``route()`` adds an endpoint (the latest registration of a path wins, so a test can
    replace a default one); ``force()`` makes the next N requests to a path get a canned
    answer; ``requests`` / ``requests_to()`` read the log. Handler crashes answer 500 and
    are kept in ``errors`` (the fixtures fail the test on teardown if any happened).
    """

    name = "stand-in"

    def __init__(self):
        self._lock = threading.Lock()
        self._routes: list[Route] = []
        self._canned: list[Canned] = []
        self._log: list[Recorded] = []
        self.errors: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.host = HOST
        self.port = 0

    # Life cycle ---------------------------------------------------------------------------

    def start(self):
        self._server = _Server((HOST, 0), _RequestHandler)
        self._server.standin = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # Routing and canned answers -----------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Serve ``method pattern`` with ``handler(request, **path_params) -> Reply``."""
        with self._lock:
            self._routes.insert(0, Route(method.upper(), pattern, handler))

    def force(
        self,
        path: str,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` (a pattern like route's) with this."""
        canned = Canned(
            compile_path(path), method and method.upper(), Reply(status, body, headers or {}), times
        )
        with self._lock:
            self._canned.append(canned)

    def _take_canned(self, request: Recorded) -> Reply | None:
        with self._lock:
            for canned in self._canned:
                if canned.method in (None, request.method) and canned.regex.fullmatch(request.path):
                    canned.times -= 1
                    if canned.times <= 0:
                        self._canned.remove(canned)
                    return Reply(canned.reply.status, canned.reply.body, dict(canned.reply.headers))
        return None

    # The request log ----------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._log)

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        """The logged requests whose path matches ``path`` (a pattern like route's)."""
        regex = compile_path(path)
        return [
            r
            for r in self.requests
            if regex.fullmatch(r.path) and (method is None or r.method == method.upper())
        ]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    # Hooks for subclasses -----------------------------------------------------------------

    def not_found(self, request: Recorded) -> Reply:
        return Reply(404, {"error": "not_found", "message": f"No route for {request.path}"})

    def method_not_allowed(self, request: Recorded) -> Reply:
        return Reply(405, {"error": "method_not_allowed", "message": request.method})

    def standard_headers(self, request: Recorded, reply: Reply) -> dict[str, str]:
        """Headers every answer carries unless the reply sets them itself."""
        return {}

    # Serving ------------------------------------------------------------------------------

    def _read(self, handler: BaseHTTPRequestHandler) -> Recorded:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        return Recorded(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            raw=raw,
            body=parse_body(headers.get("content-type", ""), raw),
            target=handler.path,
            peer=tuple(handler.client_address),
        )

    def _answer(self, request: Recorded) -> Reply:
        canned = self._take_canned(request)
        if canned is not None:
            return canned
        with self._lock:
            routes = list(self._routes)
        path_known = False
        for route in routes:
            params = route.match(request.path)
            if params is None:
                continue
            path_known = True
            if route.method == request.method:
                return route.handler(request, **params)
        return self.method_not_allowed(request) if path_known else self.not_found(request)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        request = self._read(handler)
        with self._lock:
            self._log.append(request)
        try:
            reply = self._answer(request)
        except Exception:
            self.errors.append(traceback.format_exc())
            reply = Reply(500, "The stand-in crashed; see its errors.", {})
        headers = {**self.standard_headers(request, reply), **reply.headers}
        request.reply = reply
        data, content_type = reply.encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", headers.pop("Content-Type", content_type))
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            for each in value if isinstance(value, list) else [value]:
                handler.send_header(name, each)
        handler.end_headers()
        if request.method != "HEAD":
            handler.wfile.write(data)


def parse_body(content_type: str, raw: bytes) -> Any:
    """Parse a JSON or form body; anything else (or a broken body) stays raw text or None."""
    if not raw:
        return None
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == "application/json" or kind.endswith("+json"):
            return json.loads(raw)
        if kind == "application/x-www-form-urlencoded":
            fields = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=True)
            return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
    except ValueError:
        return None
    return raw.decode(errors="replace")


# Auth0 ------------------------------------------------------------------------------------

DEFAULT_SCOPES = (
    "read:users",
    "update:users",
    "create:users",
    "read:organizations",
    "create:organizations",
    "delete:organizations",
)
DATABASE_CONNECTION = "Username-Password-Authentication"


@dataclass
class Auth0Client:
    """A machine-to-machine application; ``scopes=None`` means no grant for the Management API."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] | None = DEFAULT_SCOPES


@dataclass
class IssuedToken:
    access_token: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float


def auth0_api_error(
    status: int, error: str, message: str, error_code: str | None = None, **headers: str
) -> Reply:
    """The Management API's error body: statusCode, error, message and usually errorCode."""
    body = {"statusCode": status, "error": error, "message": message}
    if error_code:
        body["errorCode"] = error_code
    return Reply(status, body, dict(headers))


class Auth0Standin(HttpStandin):
    """An Auth0 tenant: ``domain`` is 127.0.0.1:PORT, ``audience`` its Management API id.

    ``client_id`` / ``client_secret`` are a default machine-to-machine client granted
    ``DEFAULT_SCOPES``; ``add_client()`` adds more. ``tokens`` maps every issued access token
    to its ``IssuedToken``; ``authorize(request, scope...)`` is what /api/v2 handlers call.
    ``users`` and ``organizations`` hold what the API created, by id; ``connections`` maps
    the tenant's connection names to their strategy (``auth0`` is a database connection).

    Knobs: ``token_delay`` (seconds /oauth/token takes, to make races real),
    ``enforce_rate_limit`` (answer /api/v2 requests beyond ``rate_limit`` per second with
    a 429, like a busy tenant) and ``rate_limited()`` for canned 429s.
    """

    name = "auth0"
    rate_limit = 50
    token_lifetime = 86400
    token_delay = 0.0
    enforce_rate_limit = False

    def __init__(self):
        super().__init__()
        self.clients: dict[str, Auth0Client] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self._bucket = (self.rate_limit, 0)  # (remaining, reset epoch second)
        self.client_id = secrets.token_urlsafe(24)[:32]
        self.client_secret = secrets.token_urlsafe(48)
        self.add_client(self.client_id, self.client_secret)
        self.users: dict[str, dict[str, Any]] = {}
        self.organizations: dict[str, dict[str, Any]] = {}
        self.connections = {DATABASE_CONNECTION: "auth0", "email": "email"}
        self._data_lock = threading.Lock()
        self.route("POST", "/oauth/token", self.handle_token)
        self.route("POST", "/api/v2/users", self.handle_create_user)
        self.route("GET", "/api/v2/users", self.handle_list_users)
        self.route("GET", "/api/v2/users/{id}", self.handle_get_user)
        self.route("PATCH", "/api/v2/users/{id}", self.handle_update_user)
        self.route("GET", "/api/v2/organizations", self.handle_list_organizations)
        self.route("POST", "/api/v2/organizations", self.handle_create_organization)
        self.route("GET", "/api/v2/organizations/{id}", self.handle_get_organization)
        self.route("DELETE", "/api/v2/organizations/{id}", self.handle_delete_organization)
        from tests.standins.auth0_flows import FlowsApi  # it imports this module

        self.flows_api = FlowsApi(self)  # /api/v2/flows and the Flows Vault's connections

    @property
    def domain(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def audience(self) -> str:
        return f"{self.base_url}/api/v2/"

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        scopes: Iterable[str] | None = DEFAULT_SCOPES,
    ) -> Auth0Client:
        client = Auth0Client(client_id, client_secret, None if scopes is None else tuple(scopes))
        self.clients[client_id] = client
        return client

    def credentials(self, **overrides) -> dict[str, Any]:
        """Credentials of an auth0 connection pointing at this tenant with the default client."""
        return {
            "domain": self.domain,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "audience": "",
            **overrides,
        }

    def rate_limited(
        self,
        path: str,
        *,
        times: int = 1,
        retry_after: int | None = 1,
        send_retry_after: bool = True,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with Auth0's 429.

        The answer says when to come back in ``X-RateLimit-Reset`` (epoch seconds) and, unless
        ``send_retry_after`` is false, in ``Retry-After`` (seconds); ``retry_after=None``
        sends neither.
        """
        headers = {"x-ratelimit-remaining": "0"}
        if retry_after is not None:
            if send_retry_after:
                headers["Retry-After"] = str(retry_after)
            headers["x-ratelimit-reset"] = str(int(time.time()) + retry_after)
        if path == "/oauth/token":
            body = {"error": "too_many_requests", "error_description": "Rate limit exceeded"}
        else:
            body = auth0_api_error(
                429, "Too Many Requests", "Global limit has been reached", "too_many_requests"
            ).body
        self.force(path, 429, body, headers=headers, times=times)

    def expire_tokens(self) -> None:
        """Make every token issued so far expired, as if its lifetime had passed."""
        for token in self.tokens.values():
            token.expires_at = 0

    # Hooks --------------------------------------------------------------------------------

    def standard_headers(self, request: Recorded, reply: Reply) -> dict[str, str]:
        now = int(time.time())
        with self._lock:
            remaining, reset = self._bucket
            if now >= reset:
                remaining, reset = self.rate_limit, now + 1
            remaining = max(0, remaining - 1)
            self._bucket = (remaining, reset)
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset),
        }

    def _answer(self, request: Recorded) -> Reply:
        if self.enforce_rate_limit and request.path.startswith("/api/v2/"):
            with self._lock:
                remaining, reset = self._bucket
            if remaining <= 0 and time.time() < reset:
                return auth0_api_error(
                    429,
                    "Too Many Requests",
                    "Global limit has been reached",
                    "too_many_requests",
                    **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
                )
        return super()._answer(request)

    def not_found(self, request: Recorded) -> Reply:
        return auth0_api_error(404, "Not Found", "Not Found")

    def method_not_allowed(self, request: Recorded) -> Reply:
        return auth0_api_error(404, "Not Found", "Not Found")

    # /oauth/token -------------------------------------------------------------------------

    @staticmethod
    def oauth_error(status: int, error: str, description: str) -> Reply:
        return Reply(
            status,
            {"error": error, "error_description": description},
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def handle_token(self, request: Recorded) -> Reply:
        if self.token_delay:
            time.sleep(self.token_delay)
        body = request.body
        if not isinstance(body, dict):
            return self.oauth_error(400, "invalid_request", "Invalid request body")
        params = {k: v for k, v in body.items() if isinstance(v, str)}
        basic = request.basic_auth
        if basic:
            params.setdefault("client_id", basic[0])
            params.setdefault("client_secret", basic[1])
        grant_type = params.get("grant_type")
        if not grant_type:
            return self.oauth_error(
                400, "invalid_request", "Missing required parameter: grant_type"
            )
        if not params.get("client_id"):
            return self.oauth_error(400, "invalid_request", "Missing required parameter: client_id")
        client = self.clients.get(params["client_id"])
        if client is None or not secrets.compare_digest(
            params.get("client_secret", "").encode(), client.client_secret.encode()
        ):
            return self.oauth_error(401, "access_denied", "Unauthorized")
        if grant_type != "client_credentials":
            return self.oauth_error(
                403,
                "unsupported_grant_type",
                f"Grant type '{grant_type}' not allowed for the client.",
            )
        audience = params.get("audience")
        if not audience:
            return self.oauth_error(
                403,
                "access_denied",
                "No audience parameter was provided, and no default audience has been configured",
            )
        if audience != self.audience:
            return self.oauth_error(
                403, "access_denied", f"Service not enabled within domain: {audience}"
            )
        if client.scopes is None:
            return self.oauth_error(
                403,
                "access_denied",
                f'Client is not authorized to access "{audience}". You need to create a '
                '"client-grant" associated to this API. See: '
                "https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants",
            )
        scopes = client.scopes
        if params.get("scope"):
            scopes = tuple(s for s in params["scope"].split() if s in client.scopes)
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.tokens[token] = IssuedToken(
                token, client.client_id, scopes, time.time() + self.token_lifetime
            )
        return Reply(
            200,
            {
                "access_token": token,
                "expires_in": self.token_lifetime,
                "scope": " ".join(scopes),
                "token_type": "Bearer",
            },
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    # For /api/v2 handlers -----------------------------------------------------------------

    def authorize(self, request: Recorded, *any_of_scopes: str) -> Reply | None:
        """Return the Management API's 401/403 for this request, or None if it may go on."""
        if request.bearer is None:
            return auth0_api_error(401, "Unauthorized", "Missing authentication")
        with self._lock:
            token = self.tokens.get(request.bearer)
        if token is None:
            return auth0_api_error(401, "Unauthorized", "Invalid token")
        if token.expires_at <= time.time():
            return auth0_api_error(
                401, "Unauthorized", "Expired token received for JSON Web Token validation"
            )
        if any_of_scopes and not set(any_of_scopes) & set(token.scopes):
            return auth0_api_error(
                403,
                "Forbidden",
                f"Insufficient scope, expected any of: {','.join(any_of_scopes)}",
                "insufficient_scope",
            )
        return None

    # /api/v2/users ------------------------------------------------------------------------

    def handle_create_user(self, request: Recorded) -> Reply:
        denied = self.authorize(request, "create:users")
        if denied:
            return denied
        body = request.body
        problem = payload_problem(body, USER_CREATE_FIELDS, required=("connection",))
        if problem:
            return invalid_body(problem)
        strategy = self.connections.get(body["connection"])
        if strategy is None:
            return auth0_api_error(
                400, "Bad Request", "The connection does not exist.", "inexistent_connection"
            )
        if strategy == "auth0":
            problem = payload_problem(body, USER_CREATE_FIELDS, required=("email", "password"))
            if problem:
                return invalid_body(problem)
            if len(body["password"]) < 8:
                return auth0_api_error(
                    400,
                    "Bad Request",
                    "PasswordStrengthError: Password is too weak",
                    "invalid_password",
                )
        with self._data_lock:
            if body.get("email") and self._user_by_email(body["connection"], body["email"]):
                return auth0_api_error(
                    409, "Conflict", "The user already exists.", "auth0_idp_error"
                )
            user = new_user(body, provider=strategy)
            self.users[user["user_id"]] = user
            return Reply(201, _public(user))

    def _user_by_email(self, connection: str, email: str) -> dict[str, Any] | None:
        for user in self.users.values():
            same_connection = user["identities"][0]["connection"] == connection
            if same_connection and str(user.get("email", "")).lower() == email.lower():
                return user
        return None

    def handle_list_users(self, request: Recorded) -> Reply:
        """List users; ``q`` is a tiny Lucene subset: ``field:"value"`` or free text."""
        denied = self.authorize(request, "read:users")
        if denied:
            return denied
        query = {name: values[-1] for name, values in request.query.items()}
        with self._data_lock:
            found = [_public(u) for u in self.users.values() if matches(u, query.get("q", ""))]
        page = paginated([selected(u, query) for u in found], query, "users")
        return page if isinstance(page, Reply) else Reply(200, page)

    def handle_get_user(self, request: Recorded, id: str) -> Reply:  # noqa: A002
        denied = self.authorize(request, "read:users")
        if denied:
            return denied
        query = {name: values[-1] for name, values in request.query.items()}
        with self._data_lock:
            user = self.users.get(id)
            return Reply(200, selected(_public(user), query)) if user else inexistent_user()

    def handle_update_user(self, request: Recorded, id: str) -> Reply:  # noqa: A002
        denied = self.authorize(request, "update:users", "update:users_app_metadata")
        if denied:
            return denied
        body = request.body
        problem = payload_problem(body, USER_UPDATE_FIELDS)
        if problem:
            return invalid_body(problem)
        if not body:
            return invalid_body(
                "Payload validation error: 'Too few properties defined (0), minimum 1'."
            )
        with self._data_lock:
            user = self.users.get(id)
            if user is None:
                return inexistent_user()
            for key, value in body.items():
                if key in ("app_metadata", "user_metadata"):
                    user[key] = merge_metadata(user.get(key, {}), value)
                else:
                    user[key] = value
            user["updated_at"] = iso_now()
            return Reply(200, _public(user))

    # /api/v2/organizations ----------------------------------------------------------------

    def handle_list_organizations(self, request: Recorded) -> Reply:
        denied = self.authorize(request, "read:organizations")
        if denied:
            return denied
        query = {name: values[-1] for name, values in request.query.items()}
        with self._data_lock:
            every = list(self.organizations.values())
        page = paginated(every, query, "organizations")
        return page if isinstance(page, Reply) else Reply(200, page)

    def handle_create_organization(self, request: Recorded) -> Reply:
        denied = self.authorize(request, "create:organizations")
        if denied:
            return denied
        body = request.body
        problem = payload_problem(body, ORGANIZATION_FIELDS, required=("name",))
        if problem:
            return invalid_body(problem)
        if not ORGANIZATION_NAME.fullmatch(body["name"]):
            return invalid_body(
                "Payload validation error: 'String does not match pattern "
                f"{ORGANIZATION_NAME.pattern}' on property name."
            )
        with self._data_lock:
            if any(org["name"] == body["name"] for org in self.organizations.values()):
                return auth0_api_error(
                    409, "Conflict", "An organization with this name already exists."
                )
            organization = {"id": "org_" + secrets.token_hex(8), **body}
            self.organizations[organization["id"]] = organization
            return Reply(201, organization)

    def handle_get_organization(self, request: Recorded, id: str) -> Reply:  # noqa: A002
        denied = self.authorize(request, "read:organizations")
        if denied:
            return denied
        with self._data_lock:
            organization = self.organizations.get(id)
        if organization is None:
            return auth0_api_error(404, "Not Found", "No organization found by that id or name")
        return Reply(200, organization)

    def handle_delete_organization(self, request: Recorded, id: str) -> Reply:  # noqa: A002
        denied = self.authorize(request, "delete:organizations")
        if denied:
            return denied
        with self._data_lock:
            self.organizations.pop(id, None)
        return Reply(204)


# The Management API's payloads ----------------------------------------------------------

USER_CREATE_FIELDS = {
    "email": str,
    "phone_number": str,
    "user_metadata": dict,
    "blocked": bool,
    "email_verified": bool,
    "phone_verified": bool,
    "app_metadata": dict,
    "given_name": str,
    "family_name": str,
    "name": str,
    "nickname": str,
    "picture": str,
    "user_id": str,
    "connection": str,
    "password": str,
    "verify_email": bool,
    "username": str,
}
USER_UPDATE_FIELDS = {
    **{name: kind for name, kind in USER_CREATE_FIELDS.items() if name != "user_id"},
    "client_id": str,
}
ORGANIZATION_FIELDS = {"name": str, "display_name": str, "branding": dict, "metadata": dict}
ORGANIZATION_NAME = re.compile(r"[a-z0-9_-]{1,50}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
JSON_TYPES = {str: "string", bool: "boolean", dict: "object", list: "array", type(None): "null"}


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return JSON_TYPES.get(type(value), "unknown")


def payload_problem(body: Any, fields: dict[str, type], required: Iterable[str] = ()) -> str | None:
    """Check a body the way Auth0's JSON schema does; return its message, or None if fine."""
    if not isinstance(body, dict):
        return f"Payload validation error: 'Expected type object but found type {json_type(body)}'."
    for name in required:
        if name not in body:
            return f"Payload validation error: 'Missing required property: {name}'."
    for name, value in body.items():
        if name not in fields:
            return f"Payload validation error: 'Additional properties not allowed: {name}'."
        want = fields[name]
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            return (
                f"Payload validation error: 'Expected type {JSON_TYPES[want]} but found type "
                f"{json_type(value)}' on property {name}."
            )
    if "email" in body and not EMAIL.fullmatch(body["email"]):
        return (
            "Payload validation error: 'Object didn't pass validation for format email: "
            f"{body['email']}' on property email."
        )
    return None


def paginated(items: list, query: dict[str, str], name: str) -> Reply | list | dict[str, Any]:
    """Auth0's offset paging: ``page``, ``per_page`` and ``include_totals``."""
    try:
        page, per_page = int(query.get("page", 0)), int(query.get("per_page", 50))
    except ValueError:
        return invalid_query("Query validation error: 'Expected type integer' on property page.")
    shown = items[page * per_page : (page + 1) * per_page]
    if query.get("include_totals") != "true":
        return shown
    return {name: shown, "start": page * per_page, "limit": per_page, "total": len(items)}


def matches(user: dict[str, Any], q: str) -> bool:
    if not q:
        return True
    found = re.fullmatch(r'(\w+):"?([^"]*)"?', q.strip())
    if found:
        return str(user.get(found[1], "")).lower() == found[2].lower()
    return q.lower() in json.dumps(_public(user)).lower()


def selected(user: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """Apply Auth0's ``fields`` / ``include_fields`` to a user."""
    fields = [f for f in query.get("fields", "").split(",") if f]
    if not fields:
        return user
    if query.get("include_fields", "true") == "false":
        return {k: v for k, v in user.items() if k not in fields}
    return {k: v for k, v in user.items() if k in fields}


def invalid_body(message: str) -> Reply:
    return auth0_api_error(400, "Bad Request", message, "invalid_body")


def invalid_query(message: str) -> Reply:
    return auth0_api_error(400, "Bad Request", message, "invalid_query_string")


def inexistent_user() -> Reply:
    return auth0_api_error(404, "Not Found", "The user does not exist.", "inexistent_user")


def iso_now() -> str:
    """Auth0's timestamps: ISO 8601 in UTC with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_user(body: dict[str, Any], provider: str) -> dict[str, Any]:
    """The user Auth0 stores for a create request (the password is kept, never shown)."""
    local_id = body.get("user_id") or secrets.token_hex(12)
    email = body.get("email")
    now = iso_now()
    user = {
        "user_id": f"{provider}|{local_id}",
        "email_verified": False,
        "name": email or body.get("phone_number") or local_id,
        "nickname": (email or local_id).split("@")[0],
        "picture": "https://s.gravatar.com/avatar/00000000000000000000000000000000?s=480&r=pg",
        "identities": [
            {
                "connection": body["connection"],
                "user_id": local_id,
                "provider": provider,
                "isSocial": False,
            }
        ],
        "created_at": now,
        "updated_at": now,
    }
    user.update(
        {k: v for k, v in body.items() if k not in ("connection", "user_id", "verify_email")}
    )
    return user


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in user.items() if key != "password"}


def merge_metadata(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Merge top-level keys as Auth0 does: null removes a key, an empty object clears all."""
    if not change:
        return {}
    merged = {**current, **change}
    return {key: value for key, value in merged.items() if value is not None}
