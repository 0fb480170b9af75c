"""Keys that the embedded default makes for itself under the data directory."""

import json
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet


def _read_or_create(path: Path, make, what: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    _say(f"generated a new {what} in {path}; keep this file safe.")
    return value


def _say(message: str) -> None:
    """Tell the operator, in the log format (logging is not set up yet: settings are read)."""
    if os.environ.get("SLUICE_LOG_FORMAT", "").strip().lower() == "json":
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        entry = {"time": now, "level": "warning", "logger": "sluice.keys", "message": message}
        print(json.dumps(entry), file=sys.stderr)
    else:
        print(f"sluice: {message}", file=sys.stderr)


def embedded_secret_key(data_dir: Path) -> str:
    return _read_or_create(data_dir / "secret_key", lambda: secrets.token_urlsafe(50), "secret key")


def embedded_vault_key(data_dir: Path) -> str:
    return _read_or_create(
        data_dir / "vault.key", lambda: Fernet.generate_key().decode(), "vault key"
    )
