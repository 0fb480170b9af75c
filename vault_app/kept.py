"""Secrets typed into a connection form that comes back for correction.

The browser must not receive them in clear, and the person must not lose them: the form
carries them sealed with the vault keys, for the person and the form they were typed
into, for ``KEEP_FOR`` seconds. Only the server can open them again.
"""

import time
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from vault_app import crypto

KEEP_FOR = 15 * 60
FIELD_NAME = "kept_secrets"


@dataclass(frozen=True)
class Kept:
    """Secrets kept from an earlier try: ``values`` by field name, and the names of those
    that were kept too long ago to be used (``expired``)."""

    values: dict[str, str] = field(default_factory=dict)
    expired: tuple[str, ...] = ()


def seal_kept(values: dict[str, str], scope: str) -> str:
    """Seal ``values`` for the form that ``scope`` names (person, kind and connection)."""
    return crypto.seal({"scope": scope, "until": time.time() + KEEP_FOR, "values": values})


def open_kept(token: str, scope: str) -> Kept:
    """Open what :func:`seal_kept` made for this scope; anything else keeps nothing."""
    if not token:
        return Kept()
    try:
        payload = crypto.unseal(token)
    except crypto.VaultKeyError:
        return Kept()
    values = payload.get("values")
    if payload.get("scope") != scope or not _is_text_mapping(values):
        return Kept()
    until = payload.get("until")
    if not isinstance(until, int | float) or until < time.time():
        return Kept(expired=tuple(sorted(values)))
    return Kept(dict(values))


def _is_text_mapping(value: Any) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    )
