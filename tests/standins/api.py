"""A stand-in for any API an HTTP request step calls, and for an OAuth token endpoint.

``ApiStandin`` records every request (``requests``, ``requests_to()``; ``Recorded.target``
keeps the path and query as sent) and answers each path as the test says: ``answer()``
sets a fixed reply, ``route()`` a handler. It also serves ``POST /oauth/token``, the
client-credentials grant as OAuth servers answer it (``client_id`` / ``client_secret``
from the form, ``invalid_client`` otherwise), and ``protected()`` paths that want one of
the tokens it issued as a bearer token, answering 401 otherwise.
"""

import secrets
import threading
from typing import Any

from tests.standins.auth0 import HttpStandin, Recorded, Reply


class ApiStandin(HttpStandin):
    name = "api"

    def __init__(self):
        super().__init__()
        self.client_id = "sluice-client"
        self.client_secret = "oauth-client-secret-Tq83mZ"
        self.token_lifetime: Any = 3600
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.release = threading.Event()  # lets a held answer go (see hold())
        self.route("POST", "/oauth/token", self.handle_token)

    def stop(self):
        self.release.set()
        super().stop()

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def answer(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, Any] | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer every ``method path`` with this reply."""
        reply = Reply(status, body, headers or {}, content_type)
        self.route(method, path, lambda request, **_: reply)

    def protected(self, method: str, path: str, body: Any) -> None:
        """Answer ``method path`` with ``body`` to a bearer token it issued, else 401."""

        def handle(request: Recorded, **_) -> Reply:
            if request.bearer not in self.issued or request.bearer in self.revoked:
                return Reply(401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"})
            return Reply(200, body)

        self.route(method, path, handle)

    def hold(self, method: str, path: str) -> None:
        """Answer ``method path`` only once ``release`` is set (the stand-in stops)."""

        def handle(request: Recorded, **_) -> Reply:
            self.release.wait(30)
            return Reply(200, {"late": True})

        self.route(method, path, handle)

    def handle_token(self, request: Recorded) -> Reply:
        form = request.body if isinstance(request.body, dict) else {}
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return Reply(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed."},
            )
        token = "at-" + secrets.token_urlsafe(24)
        self.issued.append(token)
        answer = {"access_token": token, "token_type": "Bearer", "scope": form.get("scope", "")}
        if self.token_lifetime is not None:
            answer["expires_in"] = self.token_lifetime
        return Reply(200, answer)

    def token_requests(self) -> list[Recorded]:
        return self.requests_to("/oauth/token", "POST")
