"""Keep vault secrets (and values passed through functions.mask) out of run records."""

import json
import re
from collections.abc import Iterable
from typing import Any

from flows_app.definition import connection_ids
from flows_app.plain_sql import column, quote, records, select
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


def run_connections(definition: dict) -> dict[int, Connection]:
    """Every connection a definition uses and the providers, by id, in one query (read
    before every run: plain SQL, as the ORM would spend longer building it than the
    database takes to answer)."""
    ids = sorted(pk for pk in connection_ids(definition) if pk <= LARGEST_ID)
    used = f"{_ID} IN ({', '.join(['%s'] * len(ids))}) OR " if ids else ""
    found = records(Connection, f"{_CONNECTIONS} WHERE {used}{_PROVIDERS}", ids)
    return {connection.pk: connection for connection in found}


LARGEST_ID = 2**63 - 1  # a larger id in a definition names no connection
_ID = column(Connection, "id")
_CONNECTIONS = select(Connection)
_PROVIDERS = "{} IN (SELECT {} FROM {})".format(
    _ID, column(Provider, "connection"), quote(Provider._meta.db_table)
)


def vault_secrets(connections: Iterable[Connection]) -> set[str]:
    """The secret values of these connections."""
    found: set[str] = set()
    for connection in connections:
        try:
            found |= {value for value in connection.secrets().values() if value}
        except VaultKeyError:
            continue
    return found


def redact(value: Any, secrets: Iterable[str], codes: Iterable[str] = ()) -> Any:
    """Return ``value`` with every occurrence of a secret replaced, walking JSON structures.

    ``codes`` are one-time codes: digits, of any length, so they are replaced only where
    no other digit touches them ("code 0482" loses the code, "10482" keeps its digits).
    """
    secrets = sorted((s for s in secrets if len(s) >= SHORTEST), key=len, reverse=True)
    return _walk(value, secrets, _codes_pattern(codes))


def _codes_pattern(codes: Iterable[str]) -> re.Pattern | None:
    found = sorted({c for c in codes if c}, key=len, reverse=True)
    if not found:
        return None
    return re.compile(r"(?<!\d)(?:" + "|".join(re.escape(c) for c in found) + r")(?!\d)")


def _walk(value: Any, secrets: list[str], codes: re.Pattern | None = None) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return codes.sub(MASK, value) if codes else value
    if isinstance(value, dict):
        return {
            _walk(k, secrets, codes): MASK if _sensitive(k, v) else _walk(v, secrets, codes)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(item, secrets, codes) for item in value]
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


def mask_operands(node: dict) -> dict:
    """A condition (or one check) with every operand value masked, its shape kept."""
    masked = dict(node)
    if isinstance(node.get("operands"), list):
        masked["operands"] = [
            mask_operands(o) if isinstance(o, dict) else MASK for o in node["operands"]
        ]
    return masked


def mask_values(variables: dict, hidden: set[str]) -> dict:
    """The variables, those that a masked step stored last masked."""
    return {name: MASK if name in hidden else value for name, value in variables.items()}
