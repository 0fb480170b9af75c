"""Send a request with an HTTP vault connection's credentials, through the guarded client.

The credentials are added by :class:`ConnectionAuth` to each hop of the exchange whose URL is
on one of the connection's hosts (over https, or plain http to a host the operator trusts),
and to no other: a redirect elsewhere goes on without them, and one whose URL would carry
them elsewhere is refused. They are applied last, so they replace an ``Authorization``
header (or an API key header or query parameter of the same name) that the request had.

OAuth client-credentials tokens are fetched from the connection's token endpoint, cached
per connection until 60 s before they expire (``token_cache``), and fetched again once
when the API answers 401.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx

from sluice import metrics
from vault_app.clients import guarded
from vault_app.clients.token_cache import ConnectionGone, Held, now, shared_token
from vault_app.kinds import http as kind
from vault_app.models import Connection

TOKEN_MARGIN = timedelta(seconds=60)
UNKNOWN_LIFETIME = timedelta(minutes=5)  # a token answer without expires_in


class TokenRefused(guarded.OutboundError):
    """The token endpoint gave no token; ``status`` and ``body`` are what it answered."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class ConnectionAuth:
    """One HTTP connection's credentials, ready to sign requests to its hosts."""

    def __init__(self, connection: Connection):
        if connection.kind != kind.KIND.key:
            raise ValueError(f"{connection} is not an HTTP connection.")
        self.connection = connection
        self.credentials = connection.credentials()
        self.setup = self.credentials.get("setup")
        self.hosts = kind.parse_hosts(self.credentials.get("hosts"))
        self.token: str | None = None  # the OAuth access token last used
        self._stale: str | None = None

    def __repr__(self) -> str:
        return f"<ConnectionAuth for {self.connection}>"

    @property
    def host_names(self) -> str:
        return ", ".join(f"{h}:{p}" if p else h for h, p in self.hosts)

    def covers(self, url: httpx.URL) -> bool:
        """Whether the credentials may go to ``url``: one of the hosts, over https (or plain
        http to a host the operator trusts)."""
        host, port = url.host.lower().rstrip("."), url.port or _default_port(url)
        listed = any(host == h and p in (None, port) for h, p in self.hosts)
        secure = url.scheme == "https" or guarded.host_is_trusted(host)
        return listed and secure

    def secret_values(self) -> list[str]:
        """Every value that must not leave for another host or show in a record."""
        names = (*kind.KIND.secret_names,)
        values = [str(self.credentials.get(n) or "") for n in names] + [self.token or ""]
        return [v for v in values if len(v) >= 4]

    # Signing ----------------------------------------------------------------------------

    def sign(self, request: httpx.Request) -> httpx.Request:
        if not self.covers(request.url):
            self._refuse_leaks(request)
            return request
        headers = httpx.Headers(request.headers)
        url = request.url
        if self.setup == kind.API_KEY:
            name, value = self.credentials["key_name"], self.credentials["key_value"]
            if self.credentials.get("key_in") == kind.QUERY:
                url = url.copy_set_param(name, value)
            else:
                headers[name] = value
        else:
            headers["Authorization"] = self._authorization()
        return httpx.Request(request.method, url, headers=headers, content=request.content)

    def _authorization(self) -> str:
        if self.setup == kind.BASIC_AUTH:
            pair = f"{self.credentials['username']}:{self.credentials.get('password') or ''}"
            return "Basic " + base64.b64encode(pair.encode()).decode()
        if self.setup == kind.OAUTH:
            return f"Bearer {self._access_token()}"
        return f"Bearer {self.credentials['token']}"

    def _refuse_leaks(self, request: httpx.Request) -> None:
        shown = str(request.url) + " " + " ".join(request.headers.values())
        if any(value in shown for value in self.secret_values()):
            raise guarded.OutboundError(
                f"The request to {request.url.host} would carry the credentials of "
                f"{self.connection.name}, which go only to {self.host_names}; it was not sent."
            )

    # OAuth tokens -----------------------------------------------------------------------

    def _access_token(self) -> str:
        key = (self.connection.pk, self.fingerprint())
        try:
            self.token = shared_token(key, self._new_token, self._stale)
        except ConnectionGone:
            raise TokenRefused(f"The connection {self.connection.name} no longer exists.") from None
        return self.token

    def fingerprint(self) -> str:
        """What a cached token was issued for: endpoint, client, audience, resource, scope."""
        names = ("token_endpoint", "client_id", "audience", "resource", "scope")
        parts = [self.credentials.get(name) or "" for name in names]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def _new_token(self) -> Held:
        reply = kind.request_token(self.credentials)
        issued = kind.access_token(reply)
        if issued is None:
            raise TokenRefused(
                kind.token_error(reply), status=reply.status, body=_body(reply, self)
            )
        token, lifetime = issued
        if lifetime is None:
            return Held(token, now() + UNKNOWN_LIFETIME)
        valid_for = timedelta(seconds=lifetime)
        return Held(token, now() + max(valid_for - TOKEN_MARGIN, valid_for / 2))

    # Sending ----------------------------------------------------------------------------

    def send(self, request: httpx.Request) -> guarded.Reply:
        """Send ``request`` signed for this connection; on a 401 with an OAuth token, fetch
        a new token and send once more."""
        reply = guarded.fetch(request, sign=self.sign)
        if reply.status == 401 and self.setup == kind.OAUTH and self.token:
            self._stale = self.token
            metrics.vendor_retried("http")
            reply = guarded.fetch(request, sign=self.sign)
        return reply


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _body(reply: guarded.Reply, auth: ConnectionAuth) -> Any:
    try:
        body: Any = json.loads(reply.content)
    except ValueError:
        body = reply.text() or None
    text = json.dumps(body)
    for value in auth.secret_values():
        text = text.replace(json.dumps(value)[1:-1], "[redacted]")
    return json.loads(text)
