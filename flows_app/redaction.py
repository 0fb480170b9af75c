"""Keep vault secrets (and values passed through functions.mask) out of run records."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from flows_app.definition import connection_ids
from vault_app.crypto import VaultKeyError
from vault_app.models import Connection, Provider

MASK = "[redacted]"
SHORTEST = 4  # shorter values would blot out ordinary text; no vault secret is this short
# Values under these keys are credentials whatever they are (a new user's password in a
# Create user body, an Authorization header): records keep the key, never the value.
SENSITIVE_KEYS = {
    "password",
    "client_secret",
    "authorization",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "secret",
    "token",
}


def run_connections(definition: dict) -> dict[int, Connection]:
    """Every connection a definition uses and the providers, by id, in one query."""
    chosen = Provider.objects.values("connection")
    wanted = Q(pk__in=connection_ids(definition)) | Q(pk__in=chosen)
    return {connection.pk: connection for connection in Connection.objects.filter(wanted)}


def vault_secrets(connections: Iterable[Connection]) -> set[str]:
    """The secret values of these connections."""
    found: set[str] = set()
    for connection in connections:
        try:
            found |= {value for value in connection.secrets().values() if value}
        except VaultKeyError:
            continue
    return found


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Return ``value`` with every occurrence of a secret replaced, walking JSON structures."""
    secrets = sorted((s for s in secrets if len(s) >= SHORTEST), key=len, reverse=True)
    return _walk(value, secrets)


def _walk(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {
            _walk(k, secrets): MASK if _sensitive(k, v) else _walk(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(item, secrets) for item in value]
    return value


def _sensitive(key: Any, value: Any) -> bool:
    return isinstance(key, str) and key.lower() in SENSITIVE_KEYS and value not in (None, "")
