"""Auth0 machine-to-machine applications, for the Management API."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.core.exceptions import ValidationError

from sluice import metrics
from vault_app.kinds.base import (
    SECRET,
    ConnectionKind,
    Field,
    TestResult,
    describe_transport_error,
    is_local_endpoint,
    json_object,
    outbound_http,
    validate_host_name,
)


def validate_domain(value: str) -> str:
    if is_local_endpoint(value.strip()):
        return value.strip()
    return validate_host_name(value)


def base_url(config: Mapping[str, Any]) -> str:
    """Return the tenant's origin: https, or http for an allowed local stand-in."""
    domain = config["domain"]
    scheme = "http" if is_local_endpoint(domain) else "https"
    return f"{scheme}://{domain}"


def audience(config: Mapping[str, Any]) -> str:
    return config.get("audience") or f"{base_url(config)}/api/v2/"


def validate_audience(value: str) -> str:
    value = value.strip()
    if not value.startswith("https://") or any(ch.isspace() for ch in value):
        raise ValidationError(
            "Enter the API identifier, such as https://acme.us.auth0.com/api/v2/."
        )
    return value


@dataclass(frozen=True)
class TenantAddress:
    """Where a Management API is served, and the client credentials that ask it for tokens.

    Each kind that speaks the Management API declares, as ``extra["management_api"]``, a
    function from a connection's credentials to its address; it raises ValueError, with a
    sentence a user can act on, when the tenant cannot be reached at all.
    """

    origin: str  # what /oauth/token and /api/v2/… are appended to
    audience: str
    client_id: str
    client_secret: str
    name: str  # what messages call the tenant: its domain
    notes_header: str = ""  # a header whose words the client adds to an error (the sandbox's)


def management_api(credentials: Mapping[str, Any]) -> TenantAddress:
    return TenantAddress(
        origin=base_url(credentials),
        audience=audience(credentials),
        client_id=credentials["client_id"],
        client_secret=credentials.get("client_secret") or "",
        name=credentials["domain"],
    )


def request_token(tenant: TenantAddress, http: httpx.Client) -> httpx.Response:
    """Ask the tenant for a Management API token with the client-credentials grant."""
    try:
        response = http.post(
            f"{tenant.origin}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "audience": tenant.audience,
            },
            headers={"Accept": "application/json"},
        )
    except httpx.TransportError:
        metrics.vendor_answered("auth0", None)
        metrics.token_requested("auth0", "error")
        raise
    metrics.vendor_answered("auth0", response.status_code)
    issued = response.status_code == 200 and bool((json_object(response) or {}).get("access_token"))
    metrics.token_requested("auth0", "issued" if issued else "refused")
    return response


def auth0_error(response: httpx.Response) -> str:
    """Say what Auth0 answered, in Auth0's own words where it gave them."""
    body = json_object(response)
    if body is None:
        return f"Auth0 answered HTTP {response.status_code} without a JSON error body."
    error = body.get("error") or body.get("errorCode") or f"HTTP {response.status_code}"
    detail = body.get("error_description") or body.get("message") or ""
    return f"{error}: {detail}" if detail else str(error)


def test(credentials: Mapping[str, Any]) -> TestResult:
    domain = credentials["domain"]
    try:
        with outbound_http() as http:
            response = request_token(management_api(credentials), http)
    except httpx.TransportError as exc:
        return TestResult(False, describe_transport_error(exc, domain), field="domain")
    body = json_object(response)
    if response.status_code == 200 and body and body.get("access_token"):
        scopes = (body.get("scope") or "").split()
        shown = ", ".join(scopes[:6]) + (f" and {len(scopes) - 6} more" if len(scopes) > 6 else "")
        return TestResult(
            True,
            f"Auth0 issued a Management API token for {audience(credentials)}"
            + (f" with scopes {shown}." if scopes else " with no scopes granted yet."),
        )
    if response.status_code in (200, 404, 405) or body is None:
        return TestResult(
            False,
            f"{domain} is not answering like an Auth0 tenant: {auth0_error(response)}",
            field="domain",
        )
    return TestResult(False, auth0_error(response), field=_field_at_fault(response, body))


def _field_at_fault(response: httpx.Response, body: dict) -> str | None:
    if response.status_code == 401:
        return "client_secret"
    if "Service not enabled" in str(body.get("error_description", "")):
        return "audience"
    return None


KIND = ConnectionKind(
    key="auth0",
    app_id="AUTH0",
    label="Auth0",
    description="A machine-to-machine application allowed to call your tenant's Management API.",
    fields=(
        Field(
            "domain",
            "Tenant domain",
            validate=validate_domain,
            placeholder="acme.us.auth0.com",
            help="Your tenant's domain, such as acme.us.auth0.com, or its custom domain.",
        ),
        Field(
            "client_id",
            "Client ID",
            help="Of a machine-to-machine application authorised for the Management API.",
        ),
        Field("client_secret", "Client Secret", kind=SECRET),
        Field(
            "audience",
            "Audience",
            required=False,
            validate=validate_audience,
            help="Leave blank for https://{domain}/api/v2/. With a custom domain, enter your "
            "tenant's canonical API identifier.",
        ),
    ),
    test=test,
    extra={"management_api": management_api},
)
