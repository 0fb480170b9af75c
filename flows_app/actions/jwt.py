"""JSON web token actions (Auth0's ``type: "JWT"``): decode, sign and verify.

Sign and Verify use a vault connection of kind ``jwt``, whose algorithm is the only one
they accept: a token's own header never chooses how it is checked. A token that does not
verify is an output (``{"valid": false, "cause": …}``), not a failure; a connection whose
key cannot do the work fails the step.
"""

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from flows_app.actions.base import (
    CONNECTION,
    JSON_TEMPLATE,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)
from vault_app.clients import jwt as tokens
from vault_app.crypto import VaultKeyError

TYPE = "JWT"
GROUP = "JSON web token"
DURATION = re.compile(
    r"^(\d{1,9})(?:([smhd])|\s+(seconds?|minutes?|hours?|days?))?$", re.IGNORECASE
)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CONNECTION_INPUT = Input(
    "connection_id",
    "Connection",
    kind=CONNECTION,
    required=True,
    connection_kind="jwt",
    help="The JSON web token connection (from the vault) with the algorithm and key.",
)
# Causes of {"valid": false}, in the order the checks run.
MALFORMED_TOKEN = "MALFORMED_TOKEN"
INVALID_ALGORITHM = "INVALID_ALGORITHM"
INVALID_SIGNATURE = "INVALID_SIGNATURE"
TOKEN_EXPIRED = "TOKEN_EXPIRED"
TOKEN_NOT_ACTIVE = "TOKEN_NOT_ACTIVE"
INVALID_ISSUER = "INVALID_ISSUER"
INVALID_AUDIENCE = "INVALID_AUDIENCE"


class Malformed(ValueError):
    """The text is not three base64url segments: a JSON header, JSON claims, a signature."""


def parse_token(token: str) -> tuple[dict, dict, str]:
    """The token's header, claims and signature segment; raises Malformed saying why."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Malformed(f"A JSON web token has three parts separated by dots, not {len(parts)}.")
    header = _json_segment(parts[0], "header")
    payload = _json_segment(parts[1], "payload")
    try:
        tokens.b64url_decode(parts[2])
    except ValueError:
        raise Malformed("The signature is not base64url.") from None
    return header, payload, parts[2]


def _json_segment(segment: str, name: str) -> dict:
    try:
        value = json.loads(tokens.b64url_decode(segment), parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError):
        raise Malformed(f"The {name} is not base64url-encoded JSON.") from None
    if not isinstance(value, dict):
        raise Malformed(f"The {name} is not a JSON object.")
    return value


def _not_json(word: str) -> Any:
    """Refuse NaN and Infinity, which JSON does not have: an ``exp`` of NaN never expires."""
    raise ValueError(f"{word} is not JSON")


def expires_in_seconds(text: str) -> int:
    """Seconds from ``5``, ``5m``, ``5 minutes``…; raises ValueError for anything else."""
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(
            f"Expires in {text!r} is not a duration: write seconds (300), 5m, 2h, 1d or 5 minutes."
        )
    number, short, word = match.groups()
    unit = (short or (word or "s")[0]).lower()
    return int(number) * UNIT_SECONDS[unit]


def _credentials(inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    connection = ctx.connection(inputs.get("connection_id"), "jwt")
    try:
        return connection.credentials()
    except VaultKeyError as exc:
        raise StepFailed(f"Connection {connection.name}: {exc} Enter the key again.") from None


def _key_failure(problem: tokens.KeyProblem) -> StepFailed:
    return StepFailed(f"The JSON web token connection cannot do this: {problem}")


def _token(inputs: dict[str, Any]) -> str:
    token = str(inputs.get("token") or "").strip()
    if not token:
        raise StepFailed("Token rendered empty; check the template and the test data.")
    return token


def decode_jwt(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    try:
        header, payload, signature = parse_token(_token(inputs))
    except Malformed as exc:
        raise StepFailed(f"This is not a JSON web token: {exc}") from None
    return StepOutcome({"header": header, "payload": payload, "signature": signature})


def sign_jwt(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    credentials = _credentials(inputs, ctx)
    claims = _claims(inputs, int(time.time()))
    try:
        return StepOutcome({"token": tokens.sign(credentials, claims)})
    except tokens.KeyProblem as problem:
        raise _key_failure(problem) from None


def _claims(inputs: dict[str, Any], now: int) -> dict[str, Any]:
    payload = inputs.get("payload")
    if payload in (None, ""):
        payload = {}
    if not isinstance(payload, dict):
        raise StepFailed(f"Payload must be a JSON object, got {type(payload).__name__}.")
    claims = dict(payload)
    for name, claim in (("subject", "sub"), ("issuer", "iss"), ("audience", "aud")):
        value = inputs.get(name)
        if value not in (None, ""):
            claims[claim] = str(value)
    claims["iat"] = now
    expires_in = str(inputs.get("expires_in") or "").strip()
    if expires_in:
        try:
            claims["exp"] = now + expires_in_seconds(expires_in)
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
    return claims


def verify_jwt(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    credentials = _credentials(inputs, ctx)
    token = _token(inputs)
    try:
        header, payload, signature = parse_token(token)
    except Malformed:
        return StepOutcome(_invalid(MALFORMED_TOKEN))
    try:
        cause = _first_failure(credentials, token, header, payload, inputs)
    except tokens.KeyProblem as problem:
        raise _key_failure(problem) from None
    if cause:
        return StepOutcome(_invalid(cause))
    output = {"valid": True, "header": header, "payload": payload, "signature": signature}
    return StepOutcome(output)


def _invalid(cause: str) -> dict[str, Any]:
    return {"valid": False, "cause": cause}


def _first_failure(credentials, token: str, header: dict, payload: dict, inputs) -> str | None:
    """The cause of the first check the token fails, in the documented order, or None."""
    if header.get("alg") != tokens.algorithm_of(credentials):
        return INVALID_ALGORITHM
    if not tokens.signature_matches(credentials, token):
        return INVALID_SIGNATURE
    return next(_claim_failures(payload, inputs, time.time()), None)


def _claim_failures(payload: dict, inputs: dict[str, Any], now: float) -> Iterator[str]:
    expires, not_before = payload.get("exp"), payload.get("nbf")
    for value in (expires, not_before):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            yield MALFORMED_TOKEN
    if isinstance(expires, int | float) and expires <= now:
        yield TOKEN_EXPIRED
    if isinstance(not_before, int | float) and not_before > now:
        yield TOKEN_NOT_ACTIVE
    issuer = str(inputs.get("issuer") or "")
    if issuer and payload.get("iss") != issuer:
        yield INVALID_ISSUER
    audience = str(inputs.get("audience") or "")
    if audience and not _audience_matches(payload.get("aud"), audience):
        yield INVALID_AUDIENCE


def _audience_matches(claim: Any, audience: str) -> bool:
    if isinstance(claim, list):
        return audience in claim
    return claim == audience


def _check_sign(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    payload = params.get("payload")
    if payload not in (None, "") and not isinstance(payload, dict):
        yield "payload", "Must be a JSON object of claims."
    expires_in = params.get("expires_in")
    if isinstance(expires_in, str) and expires_in.strip() and "{" not in expires_in:
        try:
            expires_in_seconds(expires_in)
        except ValueError as exc:
            yield "expires_in", str(exc)


DECODE_JWT = ActionType(
    type=TYPE,
    action="DECODE_JWT",
    group=GROUP,
    label="Decode JSON web token",
    description="Read a token's header and claims without verifying its signature.",
    inputs=(
        Input(
            "token",
            "Token",
            required=True,
            max_length=10_000,
            help="The token to decode, such as {{ fields.id_token }}. Its signature is not "
            "checked: use Verify JSON web token for that.",
        ),
    ),
    output='{"header", "payload", "signature"}: the token\'s header and claims as objects '
    "and its third part as text: {{ actions.<id>.payload.sub }}.",
    output_fields=(
        OutputField("header", "The token's header (an object): alg, typ…"),
        OutputField("header.alg", "The algorithm the token names."),
        OutputField("payload", "The token's claims (an object), not verified."),
        OutputField("payload.sub", "The token's subject claim."),
        OutputField("payload.exp", "When the token expires (seconds since 1970)."),
        OutputField("signature", "The token's signature (text)."),
    ),
    run=decode_jwt,
)
SIGN_JWT = ActionType(
    type=TYPE,
    action="SIGN_JWT",
    group=GROUP,
    label="Sign JSON web token",
    description="Make a signed token with the vault connection's algorithm and key.",
    inputs=(
        CONNECTION_INPUT,
        Input(
            "payload",
            "Payload",
            kind=JSON_TEMPLATE,
            help='The claims, a JSON object, such as {"email": "{{ fields.email }}"}.',
        ),
        Input("subject", "Subject", max_length=100, help="The sub claim."),
        Input("issuer", "Issuer", max_length=100, help="The iss claim."),
        Input("audience", "Audience", max_length=100, help="The aud claim (one value)."),
        Input(
            "expires_in",
            "Expires in",
            max_length=25,
            help="How long the token is valid: seconds (300), 5m, 2h, 1d or 5 minutes. "
            "Leave empty for a token that does not expire.",
        ),
    ),
    output='{"token"}: the signed token, {{ actions.<id>.token }} (shown [redacted] in run '
    "history).",
    output_fields=(OutputField("token", "The signed token (shown [redacted] in run history)."),),
    run=sign_jwt,
    extra={"check": _check_sign},
)
VERIFY_JWT = ActionType(
    type=TYPE,
    action="VERIFY_JWT",
    group=GROUP,
    label="Verify JSON web token",
    description="Check a token's signature, expiry, issuer and audience.",
    inputs=(
        CONNECTION_INPUT,
        Input(
            "token",
            "Token",
            required=True,
            max_length=100,
            help="The token to verify, such as {{ fields.invite }}.",
        ),
        Input("audience", "Audience", max_length=500, help="When set, aud must hold it."),
        Input("issuer", "Issuer", max_length=500, help="When set, iss must equal it."),
    ),
    output='{"valid": true, "header", "payload", "signature"}, or {"valid": false, "cause"} '
    "with cause MALFORMED_TOKEN, INVALID_ALGORITHM, INVALID_SIGNATURE, TOKEN_EXPIRED, "
    "TOKEN_NOT_ACTIVE, INVALID_ISSUER or INVALID_AUDIENCE.",
    output_fields=(
        OutputField("valid", "Whether the token verified (true/false)."),
        OutputField(
            "cause", "Why not, when it did not: MALFORMED_TOKEN, INVALID_SIGNATURE, TOKEN_EXPIRED…"
        ),
        OutputField("header", "The token's header, when it verified (an object)."),
        OutputField("payload", "The token's claims, when it verified (an object)."),
        OutputField("payload.sub", "The token's subject claim."),
        OutputField("signature", "The token's signature, when it verified."),
    ),
    run=verify_jwt,
)

ACTIONS = (DECODE_JWT, SIGN_JWT, VERIFY_JWT)
