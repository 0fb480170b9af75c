"""A sandbox tenant: Sluice's own stand-in for an Auth0 tenant, with sample users.

The connection names a tenant and nothing else. Its address is fixed by Sluice
(``SLUICE_PUBLIC_URL/sandbox/<tenant>``), never typed by a user, so it reaches Sluice's own
web server without ``SLUICE_ALLOW_LOCAL_ENDPOINTS`` and cannot be pointed at any other
local address. Its client credentials are derived from the secret key (``sluice.sandbox``).
Auth0 steps take it wherever they take an Auth0 connection.
"""

from collections.abc import Mapping
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from sluice import sandbox
from vault_app.kinds.auth0 import TenantAddress, auth0_error, request_token
from vault_app.kinds.base import (
    ConnectionKind,
    Field,
    TestResult,
    describe_transport_error,
    json_object,
    outbound_http,
)


def validate_tenant(value: str) -> str:
    tenant = value.strip().lower()
    if not sandbox.TENANT_ID.match(tenant):
        raise ValidationError(
            "Enter the sandbox tenant's id, such as sample: lower-case letters, digits and "
            "hyphens, as the Sandbox page shows it."
        )
    return tenant


def management_api(credentials: Mapping[str, Any]) -> TenantAddress:
    if not settings.PUBLIC_URL:
        raise ValueError(
            "Sandbox tenants are served by Sluice itself at SLUICE_PUBLIC_URL, which is not "
            "set: set it to the address this Sluice's web server is reached at."
        )
    tenant = credentials["tenant"]
    origin = sandbox.api_origin(tenant)
    return TenantAddress(
        origin=origin,
        audience=f"{origin}/api/v2/",
        client_id=sandbox.client_id(tenant),
        client_secret=sandbox.client_secret(tenant),
        name=f"the sandbox tenant {tenant} at {origin}",
        notes_header=sandbox.NOTE_HEADER,
    )


def test(credentials: Mapping[str, Any]) -> TestResult:
    try:
        tenant = management_api(credentials)
        with outbound_http() as http:
            response = request_token(tenant, http)
    except ValueError as exc:
        return TestResult(False, str(exc), field="tenant")
    except httpx.TransportError as exc:
        where = describe_transport_error(exc, tenant.name)
        return TestResult(False, f"{where} Check SLUICE_PUBLIC_URL.", field="tenant")
    body = json_object(response)
    if response.status_code == 200 and body and body.get("access_token"):
        scopes = ", ".join((body.get("scope") or "").split()) or "none"
        return TestResult(
            True,
            f"Sluice's sandbox tenant {credentials['tenant']} issued a Management API token "
            f"(scopes: {scopes}).",
        )
    if response.status_code == 404:
        return TestResult(
            False,
            f"There is no sandbox tenant {credentials['tenant']}; the Sandbox page lists them.",
            field="tenant",
        )
    return TestResult(False, auth0_error(response), field="tenant")


KIND = ConnectionKind(
    key="sandbox",
    label="Sandbox tenant",
    description="Sluice's own stand-in for an Auth0 tenant: sample users that Auth0 steps "
    "create, read and update through the same Management API, served by Sluice itself.",
    fields=(
        Field(
            "tenant",
            "Sandbox tenant",
            default="sample",
            validate=validate_tenant,
            placeholder="sample",
            max_length=40,
            help="The id of a tenant on the Sandbox page, such as sample. Sluice serves it "
            "and knows its client credentials; there is nothing secret to enter.",
        ),
    ),
    test=test,
    stands_for="auth0",
    extra={"management_api": management_api},
)
