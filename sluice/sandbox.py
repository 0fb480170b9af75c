"""What a sandbox tenant and the vault connections that point at it agree on.

A sandbox tenant (``sandbox_app``) serves a slice of Auth0's Management API at
``SLUICE_PUBLIC_URL/sandbox/<tenant>/``; a vault connection of kind ``sandbox``
(``vault_app.kinds.sandbox``) names the tenant and nothing else. Neither app imports the
other: both take from here where a tenant is served and the client credentials it accepts.
The credentials are derived from the secret key, so no secret is typed, shown or stored,
and only this Sluice (its web server and its workers, which share the key) can use them.
"""

import re

from django.conf import settings
from django.utils.crypto import salted_hmac

TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SCOPES = ("read:users", "create:users", "update:users", "delete:users")


def api_origin(tenant: str) -> str:
    """The tenant's address, as the Management API client prefixes its paths with it."""
    return f"{settings.PUBLIC_URL}/sandbox/{tenant}"


def api_path(tenant: str) -> str:
    """The path of the tenant's Management API, whatever address it is reached at."""
    return f"/sandbox/{tenant}/api/v2/"


def client_id(tenant: str) -> str:
    return salted_hmac("sluice.sandbox.client-id", tenant, algorithm="sha256").hexdigest()[:32]


def client_secret(tenant: str) -> str:
    return salted_hmac("sluice.sandbox.client-secret", tenant, algorithm="sha256").hexdigest()


# A header on the sandbox's answers with a note for the run record (what it does not serve).
NOTE_HEADER = "x-sluice-sandbox-note"
