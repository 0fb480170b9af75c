"""The registry of connection kinds: one module each, listed here explicitly."""

from vault_app.kinds import auth0, http, jwt, outbox, sandbox, smtp, twilio
from vault_app.kinds.base import ConnectionKind, Field, TestResult

KINDS: dict[str, ConnectionKind] = {
    kind.key: kind
    for kind in (
        auth0.KIND,
        sandbox.KIND,
        smtp.KIND,
        twilio.KIND,
        outbox.KIND,
        http.KIND,
        jwt.KIND,
    )
}


def kinds_for(key: str) -> tuple[str, ...]:
    """The kinds a step that asks for a ``key`` connection may use: it, and those that
    stand for it (an Auth0 step also takes a sandbox tenant)."""
    return (key, *(kind.key for kind in KINDS.values() if kind.stands_for == key))


def family(key: str) -> str:
    """The kind steps know a connection of kind ``key`` as: ``auth0`` for a sandbox tenant."""
    kind = KINDS.get(key)
    return (kind.stands_for if kind else None) or key


def kinds_providing(purpose: str) -> tuple[str, ...]:
    """The kinds that can be the email or the phone provider."""
    return tuple(kind.key for kind in KINDS.values() if purpose in kind.provides)


__all__ = ["KINDS", "ConnectionKind", "Field", "TestResult", "family", "kinds_for"]
