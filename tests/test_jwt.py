"""JSON web tokens: the JWT vault connection, and Decode, Sign and Verify through the engine.

The algorithm is the connection's: a token cannot choose ``none``, another algorithm, or
the RSA public key as an HMAC secret. A token that fails a check is an output saying why.
"""

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from flows_app.models import Run
from tests.flow_helpers import connection, run_steps
from vault_app.models import Connection

SECRET = "a-shared-secret-of-at-least-32-bytes!"
PKCS8 = serialization.PrivateFormat.PKCS8
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
PEM = serialization.Encoding.PEM


def private_pem(key) -> str:
    return key.private_bytes(PEM, PKCS8, serialization.NoEncryption()).decode()


def public_pem(key) -> str:
    return key.public_key().public_bytes(PEM, SPKI).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwt_connection(name="Invites", **credentials) -> Connection:
    return connection("jwt", name, {"algorithm": "HS256", "secret": SECRET, **credentials})


def jwt_step(step_id, action, **params) -> dict:
    return {"id": step_id, "type": "JWT", "action": action, "params": params}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict) -> str:
    return b64(json.dumps(value).encode())


def hs256_token(key: bytes, claims: dict, header: dict | None = None) -> str:
    """A token made by hand, so that tests can forge what PyJWT would never make."""
    signing_input = f"{segment(header or {'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}"
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(signing_input.encode())
    return f"{signing_input}.{b64(mac.finalize())}"


def output(run: Run, step_id: str):
    return run.steps.get(step_id=step_id).output


def verify(conn: Connection, token: str, **params) -> dict:
    run = run_steps(
        jwt_step("verify", "VERIFY_JWT", connection_id=conn.pk, token="{{ fields.t }}", **params),
        input={"fields": {"t": token}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    return output(run, "verify")


# Sign, then verify and decode, through the engine -------------------------------------------


def test_a_signed_token_verifies_and_decodes_with_its_claims(db):
    conn = jwt_connection()
    run = run_steps(
        jwt_step(
            "sign",
            "SIGN_JWT",
            connection_id=conn.pk,
            payload={"email": "{{ fields.email }}", "plan": "pro", "sub": "overridden"},
            subject="{{ context.user.user_id }}",
            issuer="https://forms.example.com",
            audience="https://api.example.com",
            expires_in="5m",
        ),
        jwt_step(
            "verify",
            "VERIFY_JWT",
            connection_id=conn.pk,
            token="{{ actions.sign.token }}",
            issuer="https://forms.example.com",
            audience="https://api.example.com",
        ),
        jwt_step("decode", "DECODE_JWT", token="{{ actions.sign.token }}"),
        {
            "id": "out",
            "type": "FLOW",
            "action": "RETURN_JSON",
            "params": {
                "payload": {
                    "valid": "{{ actions.verify.valid }}",
                    "claims": "{{ actions.decode.payload }}",
                    "header": "{{ actions.decode.header }}",
                }
            },
        },
        input={"context": {"user": {"user_id": "auth0|42"}}, "fields": {"email": "j@x.io"}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    claims = run.result["claims"]
    assert run.result["valid"] is True
    assert run.result["header"] == {"alg": "HS256", "typ": "JWT"}
    assert claims["sub"] == "auth0|42" and claims["email"] == "j@x.io"
    assert (
        claims["iss"] == "https://forms.example.com" and claims["aud"] == "https://api.example.com"
    )
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 60
    assert output(run, "sign") == {"token": "[redacted]"}  # a signed token is a credential
    assert output(run, "verify")["payload"] == claims


@pytest.mark.parametrize(
    ("expires_in", "seconds"),
    [("90", 90), ("2h", 7200), ("1d", 86400), ("5 minutes", 300), ("1 Hour", 3600)],
)
def test_expires_in_reads_seconds_and_units(db, expires_in, seconds):
    conn = jwt_connection()
    run = run_steps(
        jwt_step("sign", "SIGN_JWT", connection_id=conn.pk, expires_in=expires_in),
        jwt_step("decode", "DECODE_JWT", token="{{ actions.sign.token }}"),
    )
    claims = output(run, "decode")["payload"]
    assert claims["exp"] - claims["iat"] == seconds


def test_a_bad_duration_fails_the_step_and_is_a_problem_on_save(db):
    conn = jwt_connection()
    run = run_steps(
        jwt_step("sign", "SIGN_JWT", connection_id=conn.pk, expires_in="{{ fields.e }}"),
        input={"fields": {"e": "soon"}},
    )
    assert run.status == Run.Status.FAILED
    assert "Expires in 'soon' is not a duration" in run.error
    from flows_app.services import problems_of

    definition = {"actions": [jwt_step("s", "SIGN_JWT", connection_id=conn.pk, expires_in="5w")]}
    assert any("is not a duration" in p.message for p in problems_of(definition))


@pytest.mark.parametrize("algorithm", ["RS256", "PS384", "ES256"])
def test_key_pairs_sign_with_the_private_key_and_verify_with_the_public_one(
    db, rsa_key, ec_key, algorithm
):
    key = ec_key if algorithm.startswith("ES") else rsa_key
    signer = connection("jwt", "Signer", {"algorithm": algorithm, "private_key": private_pem(key)})
    checker = connection("jwt", "Checker", {"algorithm": algorithm, "public_key": public_pem(key)})
    run = run_steps(
        jwt_step("sign", "SIGN_JWT", connection_id=signer.pk, payload={"n": 1}),
        jwt_step(
            "verify", "VERIFY_JWT", connection_id=checker.pk, token="{{ actions.sign.token }}"
        ),
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    result = output(run, "verify")
    assert result["valid"] is True and result["header"]["alg"] == algorithm


def test_a_connection_without_a_private_key_cannot_sign(db, rsa_key):
    checker = connection(
        "jwt", "Checker", {"algorithm": "RS256", "public_key": public_pem(rsa_key)}
    )
    run = run_steps(jwt_step("sign", "SIGN_JWT", connection_id=checker.pk))
    assert run.status == Run.Status.FAILED
    assert "Signing with RS256 needs a private key" in run.error


# Verification causes, in order ----------------------------------------------------------------


def test_the_algorithm_comes_from_the_connection_never_from_the_token(db, rsa_key):
    conn = connection("jwt", "RSA", {"algorithm": "RS256", "public_key": public_pem(rsa_key)})
    claims = {"sub": "mallory"}
    unsigned = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}."
    assert verify(conn, unsigned) == {"valid": False, "cause": "INVALID_ALGORITHM"}
    # The public key is public: signing HS256 with it as the secret must not pass.
    confused = hs256_token(public_pem(rsa_key).encode(), claims)
    assert verify(conn, confused) == {"valid": False, "cause": "INVALID_ALGORITHM"}
    hs = jwt_connection()
    forged_alg = hs256_token(SECRET.encode(), claims, header={"alg": "HS512", "typ": "JWT"})
    assert verify(hs, forged_alg) == {"valid": False, "cause": "INVALID_ALGORITHM"}


def test_none_is_not_an_algorithm_a_connection_can_have(admin_client):
    response = admin_client.post(
        "/vault/new/?kind=jwt", {"name": "Nope", "algorithm": "none", "secret": SECRET}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("claims", "params", "cause"),
    [
        ({"exp": 1}, {}, "TOKEN_EXPIRED"),
        ({"nbf": 4_000_000_000}, {}, "TOKEN_NOT_ACTIVE"),
        ({"exp": "tomorrow"}, {}, "MALFORMED_TOKEN"),
        (
            {"iss": "https://evil.example"},
            {"issuer": "https://forms.example.com"},
            "INVALID_ISSUER",
        ),
        (
            {"aud": "https://other.example"},
            {"audience": "https://api.example.com"},
            "INVALID_AUDIENCE",
        ),
        ({"exp": 1, "iss": "x"}, {"issuer": "y"}, "TOKEN_EXPIRED"),  # expiry is checked first
    ],
)
def test_each_failed_check_gives_its_cause(db, claims, params, cause):
    conn = jwt_connection()
    assert verify(conn, hs256_token(SECRET.encode(), claims), **params) == {
        "valid": False,
        "cause": cause,
    }


def test_an_audience_list_passes_when_it_holds_the_audience(db):
    conn = jwt_connection()
    token = hs256_token(SECRET.encode(), {"aud": ["a", "https://api.example.com"]})
    assert verify(conn, token, audience="https://api.example.com")["valid"] is True


def test_a_wrong_signature_and_a_malformed_token_are_outputs_not_failures(db):
    conn = jwt_connection()
    wrong = hs256_token(b"another-secret-another-secret-12", {"sub": "x"})
    assert verify(conn, wrong) == {"valid": False, "cause": "INVALID_SIGNATURE"}
    assert verify(conn, "not.a-token") == {"valid": False, "cause": "MALFORMED_TOKEN"}
    assert verify(conn, "a.b.c") == {"valid": False, "cause": "MALFORMED_TOKEN"}


def test_nan_and_infinity_claims_and_stray_characters_make_a_malformed_token(db):
    conn = jwt_connection()
    never_expires = f"{segment({'alg': 'HS256'})}.{b64(b'{"exp": NaN}')}"
    mac = hmac.HMAC(SECRET.encode(), hashes.SHA256())
    mac.update(never_expires.encode())
    token = f"{never_expires}.{b64(mac.finalize())}"
    assert verify(conn, token) == {"valid": False, "cause": "MALFORMED_TOKEN"}
    good = hs256_token(SECRET.encode(), {"sub": "x"})
    head, body, signature = good.split(".")
    assert verify(conn, f"{head}.{body}.{signature[:-2]}!{signature[-2:]}")["valid"] is False
    assert verify(conn, good)["valid"] is True


def test_decoding_something_that_is_not_a_token_fails_the_step_saying_why(db):
    run = run_steps(jwt_step("decode", "DECODE_JWT", token="hello"))
    assert run.status == Run.Status.FAILED
    assert "not a JSON web token: A JSON web token has three parts" in run.error
    token = f"{b64(b'[1]')}.{segment({})}.sig"
    run = run_steps(jwt_step("decode", "DECODE_JWT", token=token))
    assert "The header is not a JSON object" in run.error


def test_decode_reads_a_token_without_a_key(db, rsa_key):
    token = hs256_token(b"whatever-secret", {"sub": "auth0|42", "iat": 1700000000})
    run = run_steps(jwt_step("decode", "DECODE_JWT", token=token))
    assert output(run, "decode") == {
        "header": {"alg": "HS256", "typ": "JWT"},
        "payload": {"sub": "auth0|42", "iat": 1700000000},
        "signature": token.rsplit(".", 1)[1],
    }


# The vault connection -------------------------------------------------------------------------


def create(client, **form):
    return client.post("/vault/new/?kind=jwt", {"name": "Keys", **form})


def test_an_admin_saves_an_rs256_pair_and_the_private_key_stays_sealed(admin_client, rsa_key):
    pem = private_pem(rsa_key)
    response = create(
        admin_client,
        algorithm="RS256",
        private_key=pem,
        public_key=public_pem(rsa_key),
        then="test",
    )
    assert response.status_code == 302
    conn = Connection.objects.get()
    assert conn.last_test_ok and conn.last_test_message == "Signs and verifies RS256 tokens."
    assert "private_key" not in conn.config and conn.secrets()["private_key"] == pem.strip()
    page = admin_client.get(f"/vault/{conn.pk}/").content.decode()
    key_body = pem.splitlines()[1]
    assert key_body not in page and public_pem(rsa_key).splitlines()[1] in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"algorithm": "HS256"}, "secret", "HS256 needs a secret."),
        ({"algorithm": "RS256"}, "public_key", "RS256 needs a private key, a public key, or both."),
        (
            {
                "algorithm": "RS256",
                "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----",
            },
            "private_key",
            "is not an unencrypted PEM private key",
        ),
        ({"algorithm": "ES256", "public_key": "rsa"}, "public_key", "is not a PEM public key"),
    ],
)
def test_unusable_keys_are_field_errors_and_the_typed_key_is_not_sent_back(
    admin_client, form, field, message
):
    response = create(admin_client, **form)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert not Connection.objects.exists()
    if "private_key" in form:
        assert "nope" not in response.content.decode()


def test_a_key_of_the_wrong_family_curve_or_pair_is_refused(admin_client, rsa_key, ec_key):
    other = ec.generate_private_key(ec.SECP384R1())
    cases = [
        ({"algorithm": "ES256", "public_key": public_pem(rsa_key)}, "ES256 needs an elliptic"),
        ({"algorithm": "ES256", "public_key": public_pem(other)}, "on the secp256r1 curve"),
        ({"algorithm": "PS256", "private_key": private_pem(ec_key)}, "PS256 needs an RSA"),
        (
            {
                "algorithm": "ES256",
                "private_key": private_pem(ec_key),
                "public_key": public_pem(ec.generate_private_key(ec.SECP256R1())),
            },
            "not the half of this private key",
        ),
        (
            {"algorithm": "HS256", "secret": public_pem(rsa_key).replace("\n", " ")},
            "looks like a PEM",
        ),
    ]
    for form, message in cases:
        response = create(admin_client, **form)
        assert message in response.content.decode(), form
    assert not Connection.objects.exists()


def test_a_short_secret_is_saved_with_a_warning(admin_client):
    response = create(admin_client, algorithm="HS384", secret="short-secret", then="test")
    assert response.status_code == 302
    conn = Connection.objects.get()
    assert conn.last_test_ok is True
    assert "The secret is 12 bytes long; HS384 should have at least 48" in conn.last_test_message


def test_a_placeholder_connection_fails_the_step_until_set_up(db):
    placeholder = Connection.objects.create(kind="jwt", name="Imported")
    run = run_steps(jwt_step("verify", "VERIFY_JWT", connection_id=placeholder.pk, token="x"))
    assert run.status == Run.Status.FAILED
    assert "The connection Imported is not set up yet (Algorithm missing)" in run.error
