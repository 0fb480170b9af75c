"""The registry of connection kinds: one module each, listed here explicitly."""

from vault_app.kinds import auth0, http, jwt, outbox, smtp, twilio
from vault_app.kinds.base import ConnectionKind, Field, TestResult

KINDS: dict[str, ConnectionKind] = {
    kind.key: kind
    for kind in (
        auth0.KIND,
        smtp.KIND,
        twilio.KIND,
        outbox.KIND,
        http.KIND,
        jwt.KIND,
    )
}


def kinds_providing(purpose: str) -> tuple[str, ...]:
    """The kinds that can be the email or the phone provider."""
    return tuple(kind.key for kind in KINDS.values() if purpose in kind.provides)


__all__ = ["KINDS", "ConnectionKind", "Field", "TestResult", "kinds_providing"]
