"""Keep vault secrets (and values passed through functions.mask) out of run records."""

import json
from collections.abc import Iterable
from typing import Any

from flows_app.definition import connection_ids
from vault_app import crypto
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


def vault_secrets(definition: dict) -> set[str]:
    """The secret values of every connection a definition uses, providers included."""
    ids = connection_ids(definition) | set(Provider.objects.values_list("connection", flat=True))
    found: set[str] = set()
    for connection in Connection.objects.filter(pk__in=ids):
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


def seal_output(output: Any) -> str:
    """A masked step's output, encrypted with the vault keys, for its record."""
    return crypto.seal({"output": json.dumps(output)})


def unseal_output(sealed: str) -> Any:
    """A masked output back from its record; MASK when the vault key that sealed it is gone."""
    try:
        return json.loads(crypto.unseal(sealed)["output"])
    except (VaultKeyError, KeyError, ValueError):
        return MASK
