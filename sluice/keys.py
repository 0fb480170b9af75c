"""Keys that the embedded default makes for itself under the data directory."""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet


def _read_or_create(path: Path, make, what: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    print(f"sluice: generated a new {what} in {path}; keep this file safe.", file=sys.stderr)
    return value


def embedded_secret_key(data_dir: Path) -> str:
    return _read_or_create(data_dir / "secret_key", lambda: secrets.token_urlsafe(50), "secret key")


def embedded_vault_key(data_dir: Path) -> str:
    return _read_or_create(
        data_dir / "vault.key", lambda: Fernet.generate_key().decode(), "vault key"
    )
