"""The registry of connection kinds: one module each, listed here explicitly."""

from vault_app.kinds import auth0, http, jwt, smtp, twilio
from vault_app.kinds.base import ConnectionKind, Field, TestResult

KINDS: dict[str, ConnectionKind] = {
    kind.key: kind
    for kind in (
        auth0.KIND,
        smtp.KIND,
        twilio.KIND,
        http.KIND,
        jwt.KIND,
    )
}

__all__ = ["KINDS", "ConnectionKind", "Field", "TestResult"]
