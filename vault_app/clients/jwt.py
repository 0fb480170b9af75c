"""Sign and verify JSON web tokens with the keys of a JWT vault connection.

The algorithm is the connection's, never the token's: a token whose header names another
one is refused before its signature is looked at, and ``none`` is not an algorithm here.
Keys are loaded for that algorithm only, so an RSA public key can never be used as an
HMAC secret (the classic key-confusion attack).
"""

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidKeyError

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
ALGORITHMS = (*HMAC_ALGORITHMS, *RSA_ALGORITHMS, *EC_CURVES)
SHORTEST_SECRET = {"HS256": 32, "HS384": 48, "HS512": 64}  # bytes, as RFC 7518 §3.2 asks
SMALLEST_RSA_KEY = 2048  # bits


class KeyProblem(Exception):
    """The connection's key cannot do what is asked; ``field`` names the setting at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def algorithm_of(credentials: Mapping[str, Any]) -> str:
    algorithm = credentials.get("algorithm")
    if algorithm not in ALGORITHMS:
        raise KeyProblem(f"The algorithm {algorithm!r} is not one Sluice signs with.", "algorithm")
    return str(algorithm)


def signing_key(credentials: Mapping[str, Any]) -> Any:
    """The key that signs: the HMAC secret, or the private key loaded from its PEM."""
    algorithm = algorithm_of(credentials)
    if algorithm in HMAC_ALGORITHMS:
        return _secret(credentials)
    pem = str(credentials.get("private_key") or "").strip()
    if not pem:
        raise KeyProblem(f"Signing with {algorithm} needs a private key.", "private_key")
    return _private_key(algorithm, pem)


def verification_key(credentials: Mapping[str, Any]) -> Any:
    """The key that verifies: the HMAC secret, the public key, or the private key's half."""
    algorithm = algorithm_of(credentials)
    if algorithm in HMAC_ALGORITHMS:
        return _secret(credentials)
    pem = str(credentials.get("public_key") or "").strip()
    if pem:
        return _public_key(algorithm, pem)
    if str(credentials.get("private_key") or "").strip():
        return signing_key(credentials).public_key()
    raise KeyProblem(f"Verifying {algorithm} signatures needs a public key.", "public_key")


def secret_warning(credentials: Mapping[str, Any]) -> str:
    """A sentence when an HMAC secret is shorter than its algorithm wants, else ''."""
    algorithm = credentials.get("algorithm")
    secret = str(credentials.get("secret") or "").encode()
    shortest = SHORTEST_SECRET.get(str(algorithm))
    if not shortest or not secret or len(secret) >= shortest:
        return ""
    return (
        f"The secret is {len(secret)} bytes long; {algorithm} should have at least "
        f"{shortest} random bytes."
    )


def check_keys(credentials: Mapping[str, Any]) -> None:
    """Raise KeyProblem unless the connection can sign or verify with its algorithm, and
    its two keys, when both are given, are halves of one pair."""
    algorithm = algorithm_of(credentials)
    if algorithm in HMAC_ALGORITHMS:
        _secret(credentials)
        return
    has_private = bool(str(credentials.get("private_key") or "").strip())
    has_public = bool(str(credentials.get("public_key") or "").strip())
    if not (has_private or has_public):
        raise KeyProblem(f"{algorithm} needs a private key, a public key, or both.", "public_key")
    private = signing_key(credentials) if has_private else None
    public = verification_key(credentials) if has_public else None
    if private is not None and public is not None and not _same_pair(private, public):
        raise KeyProblem("The public key is not the half of this private key.", "public_key")


def sign(credentials: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    """A compact JWS of ``claims`` with header ``{"alg": <the connection's>, "typ": "JWT"}``."""
    algorithm = algorithm_of(credentials)
    header = {"alg": algorithm, "typ": "JWT"}
    signing_input = f"{_segment(header)}.{_segment(claims)}".encode()
    signature = get_default_algorithms()[algorithm].sign(signing_input, signing_key(credentials))
    return f"{signing_input.decode()}.{b64url(signature)}"


def signature_matches(credentials: Mapping[str, Any], token: str) -> bool:
    """Whether the token's signature is right for the connection's key and algorithm."""
    algorithm = algorithm_of(credentials)
    signing_input, _, signature = token.rpartition(".")
    try:
        raw = b64url_decode(signature)
    except ValueError:
        return False
    implementation = get_default_algorithms()[algorithm]
    return implementation.verify(signing_input.encode(), verification_key(credentials), raw)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raise ValueError on any other character."""
    if not text.isascii() or any(ch in "+/=" for ch in text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _segment(value: Mapping[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _secret(credentials: Mapping[str, Any]) -> bytes:
    secret = str(credentials.get("secret") or "")
    if not secret:
        raise KeyProblem(f"{credentials.get('algorithm')} needs a secret.", "secret")
    try:
        return get_default_algorithms()[algorithm_of(credentials)].prepare_key(secret)
    except InvalidKeyError:
        raise KeyProblem(
            "The secret looks like a PEM key; HMAC needs a shared secret, not a key pair.",
            "secret",
        ) from None


def _private_key(algorithm: str, pem: str) -> Any:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise KeyProblem(
            "The private key is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----).",
            "private_key",
        ) from None
    _fits(algorithm, key, "private_key")
    return key


def _public_key(algorithm: str, pem: str) -> Any:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise KeyProblem(
            "The public key is not a PEM public key (-----BEGIN PUBLIC KEY-----).", "public_key"
        ) from None
    _fits(algorithm, key, "public_key")
    return key


def _fits(algorithm: str, key: Any, field: str) -> None:
    label = "private key" if field == "private_key" else "public key"
    if algorithm in RSA_ALGORITHMS:
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise KeyProblem(f"{algorithm} needs an RSA {label}.", field)
        if key.key_size < SMALLEST_RSA_KEY:
            raise KeyProblem(
                f"The RSA {label} has {key.key_size} bits; use at least {SMALLEST_RSA_KEY}.",
                field,
            )
        return
    curve = EC_CURVES[algorithm]
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise KeyProblem(f"{algorithm} needs an elliptic-curve {label} ({curve.name}).", field)
    if not isinstance(key.curve, curve):
        raise KeyProblem(
            f"{algorithm} needs a key on the {curve.name} curve, not {key.curve.name}.", field
        )


def _same_pair(private: Any, public: Any) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return private.public_key().public_bytes(der, spki) == public.public_bytes(der, spki)
