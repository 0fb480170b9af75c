"""What every connection kind declares: its fields, which are secret, and its test."""

import functools
import os
import re
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

TEXT, SECRET, INTEGER, CHOICE, EMAIL = "text", "secret", "integer", "choice", "email"
MULTILINE, SECRET_MULTILINE = "multiline", "secret-multiline"  # PEM keys and the like


@dataclass(frozen=True)
class Field:
    """One setting of a connection; secret fields are encrypted and never shown again."""

    name: str
    label: str
    kind: str = TEXT
    required: bool = True
    help: str = ""
    default: Any = None
    choices: tuple[tuple[str, str], ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    validate: Callable[[Any], Any] | None = None
    placeholder: str = ""
    max_length: int | None = None  # of a text field; 255 unless set
    # (field, value): the field belongs to one choice of another field, such as one setup
    # of an HTTP connection; it is required, kept and shown only when that choice is made.
    shown_for: tuple[str, str] | None = None
    # The name of another field: when that one has a value, this one needs one too
    # (an SMTP login's password goes with its username).
    required_with: str = ""

    @property
    def secret(self) -> bool:
        return self.kind in (SECRET, SECRET_MULTILINE)

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether the field is in use with these settings (always, unless ``shown_for``)."""
        return self.shown_for is None or values.get(self.shown_for[0]) == self.shown_for[1]


@dataclass(frozen=True)
class TestResult:
    """The outcome of testing a connection; ``field`` names the setting a failure is about."""

    ok: bool
    message: str
    field: str | None = None


@dataclass(frozen=True)
class ConnectionKind:
    key: str
    label: str
    description: str
    fields: tuple[Field, ...]
    test: Callable[[Mapping[str, Any]], TestResult]
    provides: tuple[str, ...] = ()  # the provider roles it can fill: "email", "phone"
    app_id: str | None = None  # the app Auth0's vault names this kind by, if it has one
    # The kind whose steps may use it instead: a sandbox tenant answers like an Auth0 one.
    stands_for: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def secret_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.secret)

    @property
    def plain_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.secret)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def missing(self, values: Mapping[str, Any]) -> list[Field]:
        """The fields in use that need a value and have none: the required ones, and those
        required with another field that has one."""
        return [
            f
            for f in self.fields
            if f.applies(values)
            and is_blank(values.get(f.name))
            and (f.required or (f.required_with and not is_blank(values.get(f.required_with))))
        ]

    def missing_message(self, spec: Field) -> str:
        """Why a connection test cannot pass without ``spec``'s value."""
        other = self.field(spec.required_with) if not spec.required else None
        if other is None:
            return f"No {spec.label.lower()} is set."
        return f"No {spec.label.lower()} is set; the {other.label.lower()} needs one."


def is_blank(value: Any) -> bool:
    return value is None or value == ""


def scrub(text: str, secrets: Mapping[str, Any]) -> str:
    """Replace every secret value that occurs in ``text`` with a mask."""
    for value in secrets.values():
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "********")
    return text


def outbound_http(client_class: type[httpx.Client] = httpx.Client, **kwargs) -> httpx.Client:
    """Return the HTTP client for talking to vendors: timeouts on, redirects never followed."""
    timeout = httpx.Timeout(settings.OUTBOUND_TIMEOUT, connect=min(5, settings.OUTBOUND_TIMEOUT))
    return client_class(timeout=timeout, follow_redirects=False, verify=tls_context(), **kwargs)


def shared_outbound_http() -> httpx.Client:
    """This process's HTTP client for the vendors' APIs that runs call (Auth0's Management
    API): it keeps connections alive from one run to the next, so a run does not open a
    connection (a TCP and a TLS handshake) of its own to a tenant the run before it
    reached. Like ``outbound_http``, and it keeps no cookies, so nothing one run was sent
    goes with another's requests. Never close it; one per process, per timeout and trust
    setting (a forked process makes its own)."""
    key = (
        os.getpid(),
        settings.OUTBOUND_TIMEOUT,
        os.environ.get("SSL_CERT_FILE"),
        os.environ.get("SSL_CERT_DIR"),
    )
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            _shared.clear()  # another process's, or another setting's
            client = _shared[key] = outbound_http(_CookielessClient)
        return client


_shared: dict[tuple, httpx.Client] = {}
_shared_lock = threading.Lock()


class _NoCookies(httpx.Cookies):
    """An empty cookie store that takes in nothing: a response's cookies are not even read
    (httpx would otherwise parse each response's Set-Cookie headers through urllib, on
    every request, only for a refusing policy to drop them)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _CookielessClient(httpx.Client):
    @property  # type: ignore[override,misc]
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES


_NO_COOKIES = _NoCookies()


def tls_context() -> ssl.SSLContext:
    """The TLS settings for vendors: the system's trusted certificates, loaded once."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # Loading the trusted certificates takes ~30 ms: do it once per trust setting, not per
    # request. The arguments only key the cache; httpx reads the same variables itself.
    return httpx.create_ssl_context()


def json_object(response: httpx.Response) -> dict | None:
    """Return the response's body if it is a JSON object, else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def describe_transport_error(exc: httpx.TransportError, where: str) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{where} did not answer within {settings.OUTBOUND_TIMEOUT} seconds."
    reason = str(exc) or exc.__class__.__name__
    if "Name or service not known" in reason or "nodename nor servname" in reason:
        reason = "the host name does not resolve"
    elif "Connection refused" in reason:
        reason = "the connection was refused"
    return f"Could not reach {where}: {reason}."


HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
LOCAL_ENDPOINT = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$")


def is_local_endpoint(value: str) -> bool:
    """Return whether ``value`` is a loopback host:port that the local-endpoints setting allows."""
    match = LOCAL_ENDPOINT.match(value)
    return bool(match and settings.ALLOW_LOCAL_ENDPOINTS and 0 < int(match.group(2)) < 65536)


def validate_host_name(value: str) -> str:
    """Accept a DNS host name such as acme.us.auth0.com: no scheme, port, path or spaces."""
    host = value.strip().lower().rstrip(".")
    if value != value.strip() or any(ch.isspace() for ch in value):
        raise ValidationError("Remove the spaces: a host name has none.")
    if "://" in host or "/" in host or "@" in host or ":" in host or "?" in host:
        raise ValidationError(
            "Enter the host name alone, such as acme.us.auth0.com: no https://, port or path."
        )
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(HOST_LABEL.match(p) for p in labels):
        raise ValidationError("Enter a host name such as acme.us.auth0.com.")
    if labels[-1].isdigit():
        raise ValidationError("Enter a host name, not an IP address.")
    return host
