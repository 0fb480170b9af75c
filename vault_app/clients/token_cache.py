"""Client-credentials tokens shared by every run and worker until shortly before they expire.

One row per connection (``ManagementToken``, sealed like the vault's secrets), with a small
in-process memo in front. Fetching is single-flight: threads of one process queue on a
per-connection lock, processes on the connection's row (``SELECT ... FOR NO KEY UPDATE`` on
PostgreSQL; on SQLite the database write lock that Sluice's ``BEGIN IMMEDIATE``
transactions take), and whoever gets the lock second finds the first one's token. A token
is keyed by a fingerprint of what it was issued for, so one issued for credentials that
have since changed is never used. Used by the Auth0 client and the HTTP connection's OAuth
setup.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from vault_app import crypto
from vault_app.models import Connection, ManagementToken

logger = logging.getLogger(__name__)
Key = tuple[int, str]  # (connection id, fingerprint)


class ConnectionGone(Exception):
    """The connection was deleted while a token was being fetched for it."""


@dataclass(frozen=True)
class Held:
    token: str
    use_until: datetime


_memo: dict[Key, Held] = {}
_flight_locks: dict[Key, threading.Lock] = {}
_guard = threading.Lock()


def now() -> datetime:
    return timezone.now()


def forget_cached_tokens() -> None:
    """Empty this process's token memo; the database keeps its copies (for tests)."""
    with _guard:
        _memo.clear()


def _usable(held: Held | None, stale: str | None) -> Held | None:
    return held if held and held.token != stale and held.use_until > now() else None


def _flight_lock(key: Key) -> threading.Lock:
    with _guard:
        return _flight_locks.setdefault(key, threading.Lock())


def shared_token(key: Key, fetch: Callable[[], Held], stale: str | None = None) -> str:
    """Return the connection's token, fetching one only if nobody holds a usable one.

    ``stale`` is a token the API just refused. Raises ConnectionGone, or what ``fetch`` raises.
    """
    held = _usable(_memo.get(key), stale)
    if held is None:
        with _flight_lock(key):
            held = (
                _usable(_memo.get(key), stale)
                or _usable(_stored(key), stale)
                or _fetch_under_row_lock(key, fetch, stale)
            )
            _memo[key] = held
    return held.token


def _stored(key: Key) -> Held | None:
    row = ManagementToken.objects.filter(connection_id=key[0], fingerprint=key[1]).first()
    if row is None:
        return None
    try:
        return Held(crypto.unseal(row.sealed_token)["access_token"], row.use_until)
    except (crypto.VaultKeyError, KeyError):
        return None  # sealed with a vault key since removed: fetch a new one


def _fetch_under_row_lock(key: Key, fetch: Callable[[], Held], stale: str | None) -> Held:
    with transaction.atomic():
        locked = Connection.objects.select_for_update(no_key=True).filter(pk=key[0])
        if not list(locked.values_list("pk", flat=True)):
            raise ConnectionGone()
        held = _usable(_stored(key), stale)
        if held is None:
            held = fetch()
            ManagementToken.objects.update_or_create(
                connection_id=key[0],
                defaults={
                    "fingerprint": key[1],
                    "sealed_token": crypto.seal({"access_token": held.token}),
                    "use_until": held.use_until,
                    "fetched_at": now(),
                },
            )
            logger.info("Fetched a client-credentials token for connection %s.", key[0])
    return held
