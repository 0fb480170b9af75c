"""Keys for signing and verifying JSON web tokens (Auth0's JWT vault connection)."""

from collections.abc import Mapping
from typing import Any

from vault_app.clients import jwt as tokens
from vault_app.kinds.base import (
    CHOICE,
    MULTILINE,
    SECRET,
    SECRET_MULTILINE,
    ConnectionKind,
    Field,
    TestResult,
)

PROBE = {"sub": "sluice-connection-test"}


def check(credentials: Mapping[str, Any]) -> dict[str, str]:
    """The settings that cannot work together, by field: a missing or unfit key."""
    try:
        tokens.check_keys(credentials)
    except tokens.KeyProblem as problem:
        return {problem.field: str(problem)}
    return {}


def test(credentials: Mapping[str, Any]) -> TestResult:
    """Sign a token and verify it again, with the keys the connection has."""
    problems = check(credentials)
    if problems:
        field, message = next(iter(problems.items()))
        return TestResult(False, message, field=field)
    algorithm = credentials["algorithm"]
    can_sign = algorithm in tokens.HMAC_ALGORITHMS or bool(credentials.get("private_key"))
    if can_sign:
        token = tokens.sign(credentials, PROBE)
        if not tokens.signature_matches(credentials, token):  # pragma: no cover (a pair checked)
            return TestResult(False, "A token signed with these keys does not verify.")
        message = f"Signs and verifies {algorithm} tokens."
    else:
        message = f"Verifies {algorithm} tokens (no private key, so it cannot sign)."
    warning = tokens.secret_warning(credentials)
    return TestResult(True, f"{message} {warning}".strip())


KIND = ConnectionKind(
    key="jwt",
    app_id="JWT",
    label="JSON web token",
    description="The algorithm and key that Sign JSON web token and Verify JSON web token "
    "use. Tokens are verified with this algorithm only, whatever their header says.",
    fields=(
        Field(
            "algorithm",
            "Algorithm",
            kind=CHOICE,
            default="HS256",
            choices=tuple((name, name) for name in tokens.ALGORITHMS),
            help="HS* share one secret; RS*, PS* (RSA) and ES* (elliptic curve) use a key pair.",
        ),
        Field(
            "secret",
            "Secret",
            kind=SECRET,
            required=False,
            help="For HS256, HS384 and HS512: the shared secret, at least 32, 48 or 64 bytes.",
        ),
        Field(
            "private_key",
            "Private key",
            kind=SECRET_MULTILINE,
            required=False,
            help="For RS*, PS* and ES*: the PEM private key (PKCS#8, -----BEGIN PRIVATE "
            "KEY-----) that signs. Not needed to verify.",
        ),
        Field(
            "public_key",
            "Public key",
            kind=MULTILINE,
            required=False,
            help="For RS*, PS* and ES*: the PEM public key (-----BEGIN PUBLIC KEY-----) that "
            "verifies. Leave blank to verify with the private key's public half.",
        ),
    ),
    test=test,
    extra={"check": check},
)
