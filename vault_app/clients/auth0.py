"""The one way to an Auth0 tenant's Management API: tokens, paths, retries and errors.

Every flow action that calls the Management API goes through :class:`ManagementClient`.

Tokens
    Client-credentials tokens are cached per connection until shortly before they expire
    and shared by every run and worker (:mod:`vault_app.clients.token_cache`). The token is
    fetched while the lock is held: at most the outbound timeout, about once a day per
    connection. A token is keyed by a fingerprint of domain, client id, client secret and
    audience, so one issued for credentials that have since changed is never used, not even
    from another process's memo; saving a connection whose credentials changed also deletes
    its stored token (``Connection.save``). A 401
    from the API drops the token and fetches a new one, once per request.

Paths and parameters
    Requests are always ``base_url(connection) + path``; the path, URL Params and headers
    are checked by :mod:`vault_app.clients.auth0_requests` before anything is sent.

Retries
    A 429 waits for ``Retry-After`` (or until ``X-RateLimit-Reset``) and tries again; a
    5xx or network error is retried after a short backoff only for idempotent methods,
    never for POST or PATCH. ``max_retries`` and ``max_wait`` bound it all; a 429 asking
    for a longer wait than is left fails at once.

Errors
    :class:`ManagementApiError` keeps Auth0's status, body and headers for the run record;
    its message is Auth0's own words. Nothing here logs or puts in a message the token,
    the client secret or an ``Authorization`` header.
"""

from __future__ import annotations

import json as jsonlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.utils import timezone
from django.utils.crypto import salted_hmac

from sluice import metrics
from vault_app.clients.auth0_requests import (
    API_PREFIX,
    api_path,
    json_object,
    query_params,
    request_headers,
    request_method,
    user_path,
)
from vault_app.clients.token_cache import ConnectionGone, Held, now, shared_token
from vault_app.clients.token_cache import forget_cached_tokens as forget_cached_tokens
from vault_app.kinds import KINDS
from vault_app.kinds.auth0 import TenantAddress, request_token
from vault_app.kinds.base import describe_transport_error, outbound_http, scrub
from vault_app.models import Connection

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
TOKEN_MARGIN = timedelta(minutes=5)  # at most; never more than a tenth of the lifetime


class ManagementApiError(Exception):
    """The Management API (or the network on the way) refused a request.

    ``status`` is the HTTP status, None for a network error; ``body`` is Auth0's error body
    (parsed JSON, or text); ``headers`` the response's headers, lower-case names. The
    message is a sentence a user can act on, in Auth0's words where it gave them.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.network = False  # the request may not have reached Auth0
        self.from_token_endpoint = False  # asking for a token again is always safe

    def with_note(self, note: str) -> ManagementApiError:
        error = ManagementApiError(
            f"{self} {note}", status=self.status, body=self.body, headers=self.headers
        )
        error.network, error.from_token_endpoint = self.network, self.from_token_endpoint
        return error


@dataclass
class ApiResponse:
    """A 2xx answer: ``body`` is parsed JSON, or text, or None for an empty body."""

    status: int
    headers: dict[str, str]
    body: Any


# Answers and errors ------------------------------------------------------------------------


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", "").lower():
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


def _scrubbed(value: Any, secrets: Mapping[str, Any]) -> Any:
    """Mask secrets anywhere in a parsed body."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [_scrubbed(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, secrets) for key, item in value.items()}
    return value


def describe(status: int, reason: str, body: Any) -> str:
    """Say what Auth0 answered: "404 Not Found: The user does not exist. (inexistent_user)"."""
    if not isinstance(body, dict):
        return f"{status} {reason} (the answer was not Auth0's JSON error)."
    error = body.get("error") if isinstance(body.get("error"), str) else reason
    detail = body.get("message") or body.get("error_description")
    code = body.get("errorCode")
    text = f"{status} {error}" + (f": {detail}" if isinstance(detail, str) and detail else "")
    return (text + (f" ({code})" if isinstance(code, str) and code else ""))[:500]


def _error_from(
    response: httpx.Response, secrets: Mapping[str, Any], prefix: str = ""
) -> ManagementApiError:
    body = _scrubbed(_body(response), secrets)
    message = scrub(prefix + describe(response.status_code, response.reason_phrase, body), secrets)
    headers = {name: scrub(value, secrets) for name, value in response.headers.items()}
    return ManagementApiError(message, status=response.status_code, body=body, headers=headers)


def _rate_limit_wait(headers: Mapping[str, str]) -> float:
    """Seconds Auth0 asks for: Retry-After (seconds or a date), else until X-RateLimit-Reset."""
    retry_after = headers.get("retry-after", "").strip()
    seconds = math.nan
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            with suppress(TypeError, ValueError):
                seconds = (parsedate_to_datetime(retry_after) - timezone.now()).total_seconds()
    if math.isnan(seconds):
        try:
            seconds = float(headers.get("x-ratelimit-reset", "")) - time.time()
        except ValueError:
            seconds = 1.0
    return 1.0 if math.isnan(seconds) else min(max(0.0, seconds), 86400.0)


# The shared token --------------------------------------------------------------------------


_FINGERPRINT_SALT = "sluice.management-token"


def fingerprint(tenant: TenantAddress) -> str:
    """Name what a token is valid for: the tenant, the client, its secret and the audience.

    The secret is in it so that every process's memo lets go of a token once an admin
    changes the secret; the hash is keyed with SECRET_KEY, so it gives nothing away.
    """
    parts = [tenant.origin, tenant.client_id, tenant.client_secret, tenant.audience]
    return salted_hmac(_FINGERPRINT_SALT, jsonlib.dumps(parts), algorithm="sha256").hexdigest()


def tenant_address(connection: Connection) -> TenantAddress:
    """Where the connection's Management API is; raise ManagementApiError if it cannot be
    reached at all, ValueError if the connection does not speak the Management API."""
    locate = (
        KINDS[connection.kind].extra.get("management_api") if connection.kind in KINDS else None
    )
    if locate is None:
        raise ValueError(f"{connection} is not an Auth0 connection.")
    try:
        return locate(connection.credentials())
    except ValueError as exc:
        raise ManagementApiError(str(exc)) from None


def _token_from(response: httpx.Response, secrets: Mapping[str, Any]) -> Held:
    """Read a token answer; raise Auth0's refusal as a ManagementApiError."""
    body = _body(response)
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str) or not token:
        error = _error_from(response, secrets, "Auth0 did not issue a Management API token: ")
        error.from_token_endpoint = True
        raise error
    lifetime = body.get("expires_in")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        lifetime = 600
    valid_for = timedelta(seconds=lifetime)
    return Held(token, now() + valid_for - min(TOKEN_MARGIN, valid_for / 10))


# The client --------------------------------------------------------------------------------


@dataclass
class _Budget:
    retries: int
    seconds: float
    used: int = 0

    def spend(self, wait: float) -> bool:
        if self.used >= self.retries or wait > self.seconds:
            return False
        self.used += 1
        self.seconds -= wait
        return True


def _counted(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request to the Management API and count its answer (or its absence)."""
    try:
        response = http.request(method, url, **kwargs)
    except httpx.TransportError:
        metrics.vendor_answered("auth0", None)
        raise
    metrics.vendor_answered("auth0", response.status_code)
    return response


class ManagementClient:
    """Call one Auth0 connection's Management API; see the module docstring for the rules.

    Use it as a context manager to keep one HTTP connection open across calls; without
    one, each call opens and closes its own. ``max_retries``, ``max_wait``, ``backoff``
    and ``sleep`` may be changed per instance (tests make them tiny).
    """

    max_retries = 3  # retries after the first attempt, for 429s, 5xx and network errors
    max_wait = 10.0  # seconds of waiting between attempts, in all
    backoff = 0.5  # first wait after a 5xx or network error; doubles with each retry

    def __init__(self, connection: Connection, *, http: httpx.Client | None = None):
        self.connection = connection
        self._tenant = tenant_address(connection)
        self._key = (connection.pk, fingerprint(self._tenant))
        self._base_url = self._tenant.origin
        self._http = http
        self._owned: httpx.Client | None = None
        self.sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"<ManagementClient for {self.connection}>"

    def __enter__(self) -> ManagementClient:
        if self._http is None and self._owned is None:
            self._owned = outbound_http()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    # Public calls ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """Send a Custom API request; raise InvalidRequest before sending anything doubtful."""
        return self._send(
            request_method(method),
            api_path(path),
            json=json,
            params=query_params(params),
            headers=request_headers(headers),
        )

    def create_user(self, body: dict) -> ApiResponse:
        return self._send("POST", f"{API_PREFIX}users", json=json_object(body, "Create user"))

    def get_user(self, user_id: str) -> ApiResponse:
        return self._send("GET", user_path(user_id))

    def update_user(self, user_id: str, body: dict) -> ApiResponse:
        path = user_path(user_id)
        return self._send("PATCH", path, json=json_object(body, "Update user"))

    # Sending --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: tuple[tuple[str, str], ...] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        budget = _Budget(self.max_retries, self.max_wait)
        stale: str | None = None
        with self._transport() as http:
            while True:
                token, outcome = self._attempt(http, method, path, json, params, headers, stale)
                if isinstance(outcome, httpx.Response):
                    if outcome.status_code == 401 and stale is None:
                        stale = token  # fetch a new token, once per request
                        continue
                    if outcome.is_success:
                        return ApiResponse(
                            outcome.status_code, dict(outcome.headers.items()), _body(outcome)
                        )
                    outcome = self._note(outcome, _error_from(outcome, self._secrets(token)))
                wait = self._retry_wait(outcome, method, budget)
                metrics.vendor_retried("auth0")
                logger.warning(
                    "Auth0 %s %s failed (%s); retry %d of %d in %.1f s.",
                    method,
                    path,
                    outcome.status or "network error",
                    budget.used,
                    budget.retries,
                    wait,
                )
                self.sleep(wait)

    def _attempt(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        json: Any,
        params: tuple[tuple[str, str], ...] | None,
        headers: Mapping[str, str] | None,
        stale: str | None,
    ) -> tuple[str | None, httpx.Response | ManagementApiError]:
        """Send once: (the token used, Auth0's answer or why there is none)."""
        token = None
        try:
            token = shared_token(self._key, lambda: self._new_token(http), stale)
            response = _counted(
                http,
                method,
                self._base_url + path,
                json=json,
                params=params,
                headers={
                    "Accept": "application/json",
                    **(headers or {}),
                    "Authorization": f"Bearer {token}",
                },
                follow_redirects=False,
            )
        except ManagementApiError as error:
            return token, error
        except ConnectionGone:
            return token, ManagementApiError("The Auth0 connection no longer exists.")
        except httpx.TransportError as exc:
            return token, self._network_error(exc)
        return token, response

    def _new_token(self, http: httpx.Client) -> Held:
        # kinds.auth0.request_token counts the token request and its answer.
        try:
            response = request_token(self._tenant, http)
        except httpx.TransportError as exc:
            error = self._network_error(exc)
            error.from_token_endpoint = True
            raise error from None
        return _token_from(response, self._secrets(None))

    def _retry_wait(self, error: ManagementApiError, method: str, budget: _Budget) -> float:
        """Return how long to wait before trying again, or raise ``error`` if Sluice won't."""
        if error.status == 429:
            wait = _rate_limit_wait(error.headers)
            if wait > budget.seconds:
                raise error.with_note(
                    f"Auth0 asked to wait {math.ceil(wait)} s; Sluice waits at most "
                    f"{self.max_wait:g} s per request."
                )
        elif (error.network or error.status in RETRIED_STATUSES) and (
            method in IDEMPOTENT_METHODS or error.from_token_endpoint
        ):
            wait = self.backoff * 2**budget.used
        else:
            raise error
        if not budget.spend(wait):
            raise error.with_note(f"Gave up after {budget.used + 1} attempts.")
        return wait

    def _network_error(self, exc: httpx.TransportError) -> ManagementApiError:
        message = describe_transport_error(exc, self._tenant.name)
        error = ManagementApiError(scrub(message, self._secrets(None)))
        error.network = True
        return error

    def _secrets(self, token: str | None) -> dict[str, Any]:
        return {"client_secret": self._tenant.client_secret, "token": token}

    def _note(self, response: httpx.Response, error: ManagementApiError) -> ManagementApiError:
        """Add what the tenant says about the error, where it is one that explains (the
        sandbox names what it does not serve)."""
        note = response.headers.get(self._tenant.notes_header) if self._tenant.notes_header else ""
        return error.with_note(scrub(note[:300], self._secrets(None))) if note else error

    @contextmanager
    def _transport(self) -> Iterator[httpx.Client]:
        http = self._http or self._owned
        if http is not None:
            yield http
        else:
            with outbound_http() as http:
                yield http
