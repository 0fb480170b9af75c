"""The sandbox's ``/oauth/token`` and the bearer tokens it checks on every API request.

Tokens are JSON web tokens like Auth0's (``iss``, ``sub``, ``aud``, ``iat``, ``exp``,
``scope``, ``gty``), signed with a key derived from the secret key and the tenant, so a
token of one tenant, or of a tenant deleted and made again, is no token for another.
Issuing one writes nothing to the database: Sluice's client asks for a token while it
holds the database's write lock on SQLite.
"""

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.utils.crypto import salted_hmac

from sandbox_app.errors import ApiError
from sandbox_app.models import SandboxTenant
from sluice import sandbox

LIFETIME = 86400  # seconds, Auth0's default for machine-to-machine tokens


class OAuthError(Exception):
    """An ``/oauth/token`` refusal: ``{"error", "error_description"}`` with its status."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def _key(tenant: SandboxTenant) -> str:
    return salted_hmac(
        "sluice.sandbox.token", f"{tenant.slug}:{tenant.pk}", algorithm="sha256"
    ).hexdigest()


def issue(tenant: SandboxTenant, params: dict[str, str], issuer: str) -> dict[str, Any]:
    """Answer a client-credentials request (``params`` from its body or basic auth)."""
    grant_type = params.get("grant_type")
    if not grant_type:
        raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
    if not params.get("client_id"):
        raise OAuthError(400, "invalid_request", "Missing required parameter: client_id")
    if not _known_client(tenant, params):
        raise OAuthError(401, "access_denied", "Unauthorized")
    if grant_type != "client_credentials":
        raise OAuthError(
            403, "unsupported_grant_type", f"Grant type '{grant_type}' not allowed for the client."
        )
    audience = params.get("audience") or ""
    if not audience:
        raise OAuthError(
            403,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        )
    if urlsplit(audience).path != sandbox.api_path(tenant.slug):
        raise OAuthError(403, "access_denied", f"Service not enabled within domain: {audience}")
    scopes = _scopes(params.get("scope"))
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": f"{params['client_id']}@clients",
        "aud": audience,
        "iat": now,
        "exp": now + LIFETIME,
        "scope": " ".join(scopes),
        "gty": "client-credentials",
        "azp": params["client_id"],
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(claims, _key(tenant), algorithm="HS256")
    return {
        "access_token": token,
        "expires_in": LIFETIME,
        "scope": claims["scope"],
        "token_type": "Bearer",
    }


def _known_client(tenant: SandboxTenant, params: dict[str, str]) -> bool:
    right_id = secrets.compare_digest(params["client_id"], sandbox.client_id(tenant.slug))
    secret = params.get("client_secret") or ""
    return right_id & secrets.compare_digest(secret, sandbox.client_secret(tenant.slug))


def _scopes(asked: str | None) -> tuple[str, ...]:
    if not asked:
        return sandbox.SCOPES
    return tuple(scope for scope in asked.split() if scope in sandbox.SCOPES)


def check(tenant: SandboxTenant, authorization: str, scope: str) -> None:
    """Raise Auth0's 401 (or 403 for a scope the token lacks) unless the bearer token is one
    this tenant issued and it has not expired."""
    kind, _, token = authorization.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Missing authentication")
    try:
        claims = jwt.decode(
            token.strip(),
            _key(tenant),
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "aud"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "Expired token received for JSON Web Token validation") from None
    except jwt.InvalidTokenError:
        raise ApiError(401, "Invalid token") from None
    if urlsplit(str(claims["aud"])).path != sandbox.api_path(tenant.slug):
        raise ApiError(401, "Invalid token")
    if scope not in str(claims.get("scope", "")).split():
        raise ApiError(403, f"Insufficient scope, expected any of: {scope}", "insufficient_scope")
