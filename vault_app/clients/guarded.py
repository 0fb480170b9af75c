"""Outbound HTTP to addresses a flow chooses: the HTTP request action and OAuth token endpoints.

Every such request goes through :func:`fetch`, never through an ``httpx.Client`` of its own:

- **Addresses.** The host name is resolved once, every address it resolves to is checked,
  and the connection is made to a checked address (the URL, the ``Host`` header and TLS
  server-name checks keep the name). Loopback, private, link-local, cloud-metadata and
  other non-public addresses are refused, IPv4 written inside IPv6 included, unless
  ``SLUICE_ALLOW_LOCAL_ENDPOINTS`` is on or the host is in ``SLUICE_OUTBOUND_ALLOW_HOSTS``.
  Because the check happens where the socket is opened, a name that resolves to a public
  address when checked and a private one a moment later (DNS rebinding) gains nothing.
- **Redirects** are followed by hand, at most ``MAX_REDIRECTS``, each hop checked like the
  first; ``sign`` is called for every hop, so credentials are added only where the caller
  says they may go.
- **Limits**: one deadline for the whole exchange (``SLUICE_HTTP_TIMEOUT``), and the body is
  read in chunks up to ``SLUICE_HTTP_MAX_RESPONSE_BYTES``.
- **No proxies, no netrc, no cookies** from the environment.

Failures raise :class:`OutboundError` with a sentence a user can act on.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from django.conf import settings

from sluice import metrics
from vault_app.kinds.base import tls_context

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """A request was refused or could not be completed; the message says why."""


class AddressRefused(OutboundError):
    """The host resolves to an address Sluice does not call."""


@dataclass
class Reply:
    """An answer: status, headers, the body (at most the size limit) and the final URL."""

    status: int
    reason: str
    headers: httpx.Headers
    content: bytes
    url: httpx.URL

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip("\"' ")
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


# Which addresses and hosts ------------------------------------------------------------------


def refusal(address: IPAddress) -> str | None:
    """Why Sluice does not call ``address``, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal(embedded)
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_unspecified or not address.is_global:
        return "an address that is not public"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def host_is_trusted(host: str) -> bool:
    """Whether the operator lets Sluice reach ``host`` whatever its addresses are."""
    name = host.lower().strip("[]").rstrip(".")
    return settings.ALLOW_LOCAL_ENDPOINTS or name in settings.OUTBOUND_ALLOW_HOSTS


def vetted_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses; raise AddressRefused if any is refused.

    Every address must pass: a name with one public and one private address is refused, so
    the connection cannot be steered to the private one.
    """
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise httpcore.ConnectError("Name or service not known") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if host_is_trusted(host):
        return addresses
    for text in addresses:
        why = refusal(ipaddress.ip_address(text.split("%")[0]))
        if why:
            raise AddressRefused(
                f"{host} resolves to {text}, {why}; Sluice does not send requests there. "
                "An admin can allow the host with SLUICE_OUTBOUND_ALLOW_HOSTS."
            )
    return addresses


class _VettingBackend(httpcore.NetworkBackend):
    """Open sockets only to addresses that passed the check, resolved here and only here."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception = httpcore.ConnectError("No address to connect to")
        for address in vetted_addresses(host, port):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(self, path: str, timeout=None, socket_options=None):
        raise AddressRefused("Sluice does not send requests to local sockets.")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        context = tls_context()
        super().__init__(verify=context, trust_env=False)
        # httpx takes no network backend of its own, so its pool is replaced by one that has
        # the vetting backend; everything else is httpx's default.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=_VettingBackend(), max_connections=10
        )


# Sending ------------------------------------------------------------------------------------

Sign = Callable[[httpx.Request], httpx.Request]


def fetch(
    request: httpx.Request,
    *,
    sign: Sign | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
    follow_redirects: bool = True,
) -> Reply:
    """Send ``request`` (and its redirects); ``sign`` adds credentials to each hop it approves.

    Raises OutboundError for a refused address or scheme, a network or TLS error, a
    timeout, too many redirects or an answer larger than ``max_bytes``.
    """
    limit = float(timeout or settings.HTTP_TIMEOUT)
    deadline = time.monotonic() + limit
    cap = max_bytes or settings.HTTP_MAX_RESPONSE_BYTES
    with httpx.Client(transport=_GuardedTransport(), trust_env=False) as client:
        for hop in range(MAX_REDIRECTS + 1):
            _check_scheme(request.url)
            signed = sign(request) if sign else request
            response = _send(client, signed, deadline, limit)
            try:
                location = response.headers.get("location")
                if follow_redirects and response.status_code in REDIRECTS and location:
                    if hop == MAX_REDIRECTS:
                        raise OutboundError(f"Gave up after {MAX_REDIRECTS} redirects.")
                    request = next_hop(request, response.status_code, location)
                    continue
                content = _read(response, cap, deadline, limit)
                return Reply(
                    response.status_code,
                    response.reason_phrase,
                    response.headers,
                    content,
                    request.url,
                )
            finally:
                response.close()
    raise AssertionError("unreachable")  # pragma: no cover


def _check_scheme(url: httpx.URL) -> None:
    if url.scheme not in ("http", "https"):
        raise OutboundError(f"Sluice sends requests over http or https only, not {url.scheme}.")
    if not url.host:
        raise OutboundError("The URL has no host.")


def _send(client: httpx.Client, request: httpx.Request, deadline: float, limit: float):
    left = deadline - time.monotonic()
    if left <= 0:
        raise OutboundError(f"{request.url.host} did not answer within {limit:g} seconds.")
    try:
        request.extensions["timeout"] = httpx.Timeout(left).as_dict()
        response = client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException:
        metrics.vendor_answered("http", None)
        raise OutboundError(
            f"{request.url.host} did not answer within {limit:g} seconds."
        ) from None
    except httpx.TransportError as exc:
        metrics.vendor_answered("http", None)
        raise OutboundError(_describe(exc, request.url.host)) from None
    metrics.vendor_answered("http", response.status_code)
    return response


def _describe(exc: httpx.TransportError, host: str) -> str:
    reason = str(exc) or exc.__class__.__name__
    if "Name or service not known" in reason or "nodename nor servname" in reason:
        return f"Could not reach {host}: the host name does not resolve."
    if "Connection refused" in reason:
        return f"Could not reach {host}: the connection was refused."
    if "CERTIFICATE_VERIFY_FAILED" in reason or "SSL" in reason:
        return f"The TLS connection to {host} failed: {reason}"
    return f"Could not reach {host}: {reason}."


def _read(response: httpx.Response, cap: int, deadline: float, limit: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise OutboundError(_too_large(cap))
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise OutboundError(_too_large(cap))
            if time.monotonic() > deadline:
                raise OutboundError(f"The answer took longer than {limit:g} seconds to arrive.")
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise OutboundError(f"The answer took longer than {limit:g} seconds to arrive.") from None
    except httpx.HTTPError as exc:
        raise OutboundError(f"The answer could not be read: {exc}") from None
    return b"".join(chunks)


def _too_large(cap: int) -> str:
    return f"The answer is larger than {cap:,} bytes (SLUICE_HTTP_MAX_RESPONSE_BYTES)."


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def next_hop(request: httpx.Request, status: int, location: str) -> httpx.Request:
    """The request a redirect asks for, built from the unsigned request: 303 (and 301/302
    after a POST) become a GET without a body; credentials and cookies that the flow set
    itself stay behind when the redirect leaves the origin."""
    try:
        url = request.url.join(location)
    except httpx.InvalidURL:
        raise OutboundError(
            f"The server redirected to an invalid address: {location[:200]}"
        ) from None
    method = request.method
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    headers.pop("host", None)
    content = request.content
    if method != request.method:
        content = b""
        for name in ("content-type", "content-length", "transfer-encoding"):
            headers.pop(name, None)
    if not same_origin(url, request.url):
        headers.pop("authorization", None)
        headers.pop("cookie", None)
    return httpx.Request(method, url, headers=headers, content=content or None)
