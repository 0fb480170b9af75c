"""Encryption of vault secrets at rest: MultiFernet over SLUICE_VAULT_KEYS.

The first key encrypts; every key decrypts, so a new key can be put first and the old
ones kept until ``rotate_vault_keys`` has re-encrypted everything with it.
"""

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class VaultKeyError(Exception):
    """Stored secrets cannot be decrypted with the configured vault keys."""


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise VaultKeyError("No vault key is configured (SLUICE_VAULT_KEYS).")
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.VAULT_KEYS))


def seal(values: Mapping[str, Any]) -> str:
    """Encrypt a mapping of secret values (anything JSON can hold) into one token."""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, Any]:
    """Decrypt a token made by :func:`seal`."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise VaultKeyError(
            "The stored secrets cannot be decrypted with the configured vault keys."
        ) from None


def reseal(token: str) -> str:
    """Re-encrypt a token with the first key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise VaultKeyError(
            "The stored secrets cannot be decrypted with the configured vault keys."
        ) from None
