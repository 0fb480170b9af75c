"""Sluice's sandbox tenant over real HTTP (daphne): its tokens, what it refuses and how, its
rate limit, the paths it serves and those it does not, its vault connection kind, and Auth0
steps run against it. What it shares with Auth0 is tested beside the Auth0 stand-in in
tests/test_auth0_client.py."""

import http.client
import json
import time
from urllib.parse import quote, urlsplit

import httpx
import jwt
import pytest
from django.conf import settings

from flows_app.models import StepRun
from sandbox_app import tokens
from sandbox_app.models import SandboxTenant, SandboxUser
from sluice import sandbox as contract
from tests.flow_helpers import run_steps, step
from vault_app.clients.auth0 import ManagementApiError, ManagementClient
from vault_app.kinds import KINDS
from vault_app.models import Connection, run_test

pytestmark = pytest.mark.django_db(transaction=True)
ADA = {
    "connection": "Username-Password-Authentication",
    "email": "Ada@Example.com",
    "password": "correct horse battery staple",
    "app_metadata": {"plan": "pro"},
}


def origin(tenant="acme") -> str:
    return f"{settings.PUBLIC_URL}/sandbox/{tenant}"


def token_request(tenant="acme", **changes) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": contract.client_id(tenant),
        "client_secret": contract.client_secret(tenant),
        "audience": f"{origin(tenant)}/api/v2/",
        **changes,
    }
    return httpx.post(f"{origin(tenant)}/oauth/token", json={k: v for k, v in body.items() if v})


@pytest.fixture
def token(sandbox) -> str:
    return token_request().json()["access_token"]


def api(method, path, token=None, tenant="acme", headers=None, **kwargs) -> httpx.Response:
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return httpx.request(method, f"{origin(tenant)}/api/v2/{path}", headers=headers, **kwargs)


def auth0_error(status, message, code=None) -> dict:
    body = {"statusCode": status, "error": http.client.responses[status], "message": message}
    return {**body, "errorCode": code} if code else body


# Tokens ------------------------------------------------------------------------------------


def test_a_token_is_a_json_web_token_like_auth0s(sandbox):
    response = token_request(scope="read:users")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert (answer["token_type"], answer["expires_in"], answer["scope"]) == (
        "Bearer",
        86400,
        "read:users",
    )
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["aud"] == f"{origin()}/api/v2/"
    assert claims["sub"] == f"{contract.client_id('acme')}@clients"
    assert claims["gty"] == "client-credentials"
    assert claims["exp"] - claims["iat"] == 86400
    refused = api("POST", "users", answer["access_token"], json=ADA)
    assert refused.json() == auth0_error(
        403, "Insufficient scope, expected any of: create:users", "insufficient_scope"
    )
    assert not SandboxUser.objects.exists()


def test_a_form_body_or_basic_auth_also_gets_a_token(sandbox):
    form = {"grant_type": "client_credentials", "audience": f"{origin()}/api/v2/"}
    basic = (contract.client_id("acme"), contract.client_secret("acme"))

    response = httpx.post(f"{origin()}/oauth/token", data=form, auth=basic)

    assert response.status_code == 200
    assert response.json()["scope"] == "read:users create:users update:users delete:users"


@pytest.mark.parametrize(
    ("changes", "status", "error", "description"),
    [
        ({"client_secret": "not-the-secret"}, 401, "access_denied", "Unauthorized"),
        ({"client_id": "someone-else"}, 401, "access_denied", "Unauthorized"),
        ({"grant_type": None}, 400, "invalid_request", "Missing required parameter: grant_type"),
        ({"grant_type": "password"}, 403, "unsupported_grant_type", "Grant type 'password' "),
        ({"audience": "https://acme.us.auth0.com/api/v2/"}, 403, "access_denied", "not enabled"),
        ({"audience": None}, 403, "access_denied", "No audience parameter was provided"),
    ],
)
def test_the_token_endpoint_refuses_as_auth0_does(sandbox, changes, status, error, description):
    response = token_request(**changes)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert description in response.json()["error_description"]
    assert "access_token" not in response.text


def test_a_token_request_that_is_not_json_is_refused(sandbox):
    response = httpx.post(
        f"{origin()}/oauth/token",
        content=b'{"grant_type": ',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Invalid request body",
    }


def test_another_tenants_credentials_and_tokens_are_refused(sandbox, token):
    SandboxTenant.objects.create(slug="other", name="Other")

    refused = token_request(
        client_id=contract.client_id("other"), client_secret=contract.client_secret("other")
    )
    other_token = token_request("other").json()["access_token"]

    assert refused.status_code == 401
    assert api("GET", "users", other_token).json() == auth0_error(401, "Invalid token")
    assert api("GET", "users", token, tenant="other").status_code == 401


def test_a_missing_tenant_is_auth0s_404_with_a_note(sandbox):
    response = token_request("gone")

    assert response.status_code == 404
    assert response.json() == auth0_error(404, "Not Found")
    assert "There is no sandbox tenant gone" in response.headers[contract.NOTE_HEADER]


# What the API refuses, changing nothing ------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Missing authentication"),
        ("Basic YWRhOnNlY3JldA==", "Missing authentication"),
        ("Bearer not-a-token", "Invalid token"),
        ("Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.", "Invalid token"),
    ],
)
def test_a_request_without_a_good_token_is_a_401_that_changes_nothing(
    sandbox, authorization, message
):
    headers = {"Authorization": authorization} if authorization else {}

    response = httpx.post(f"{origin()}/api/v2/users", json=ADA, headers=headers)

    assert response.status_code == 401
    assert response.json() == auth0_error(401, message)
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
        response.headers
    )
    assert not SandboxUser.objects.exists()


def test_an_expired_token_is_auth0s_401(sandbox, monkeypatch):
    params = {
        "grant_type": "client_credentials",
        "client_id": contract.client_id("acme"),
        "client_secret": contract.client_secret("acme"),
        "audience": f"{origin()}/api/v2/",
    }
    two_days_ago = time.time() - 2 * tokens.LIFETIME
    with monkeypatch.context() as then:
        then.setattr(tokens.time, "time", lambda: two_days_ago)
        old = tokens.issue(sandbox, params, issuer=f"{origin()}/")["access_token"]

    response = api("GET", "users", old)

    assert response.json() == auth0_error(
        401, "Expired token received for JSON Web Token validation"
    )


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_malformed_body_is_auth0s_400_and_changes_nothing(sandbox, token, method):
    ada = api("POST", "users", token, json=ADA).json()
    path = "users" if method == "POST" else f"users/{quote(ada['user_id'], safe='')}"

    response = api(
        method, path, token, content=b'{"email": "x@', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == auth0_error(400, "Invalid request payload JSON format")
    assert [u.profile for u in SandboxUser.objects.all()] == [ada]


def test_a_body_over_a_megabyte_is_a_413_that_changes_nothing(sandbox, token):
    huge = {**ADA, "user_metadata": {"notes": "x" * (1024 * 1024)}}

    response = api("POST", "users", token, json=huge)

    assert response.status_code == 413
    assert (
        response.json()["message"] == "Payload content length greater than maximum allowed: 1048576"
    )
    assert not SandboxUser.objects.exists()


def test_a_weak_password_is_refused_and_no_password_is_ever_kept(sandbox, token):
    weak = api("POST", "users", token, json={**ADA, "password": "short"})
    created = api("POST", "users", token, json=ADA)

    assert weak.status_code == 400
    assert weak.json() == auth0_error(
        400, "PasswordStrengthError: Password is too weak", "invalid_password"
    )
    assert created.status_code == 201
    row = SandboxUser.objects.get()
    assert ADA["password"] not in json.dumps(row.profile)
    assert ADA["password"] not in str(SandboxUser.objects.values().get())


# Rate limit ----------------------------------------------------------------------------------


def test_beyond_the_tenants_rate_the_answer_is_auth0s_429(sandbox, token):
    SandboxTenant.objects.filter(pk=sandbox.pk).update(rate_limit=1)

    answers = []
    while not any(a.status_code == 429 for a in answers) and len(answers) < 50:
        answers.append(api("GET", "users", token))

    refused = answers[-1]
    assert refused.status_code == 429
    assert refused.json() == auth0_error(429, "Global limit has been reached", "too_many_requests")
    assert refused.headers["x-ratelimit-limit"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    reset = int(refused.headers["x-ratelimit-reset"])
    before = int(answers[-2].headers["x-ratelimit-reset"])
    assert reset == before  # refused within the second the previous request used up
    assert answers[0].headers["x-ratelimit-remaining"] == "0"


# Paths ---------------------------------------------------------------------------------------


def raw_get(path: str, token: str) -> tuple[int, dict, dict]:
    """GET a path exactly as written, unencoded characters and all (httpx would encode)."""
    parts = urlsplit(settings.PUBLIC_URL)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, json.loads(response.read())
    finally:
        connection.close()


def test_an_unencoded_pipe_in_a_user_path_is_a_404(sandbox, token):
    user_id = api("POST", "users", token, json=ADA).json()["user_id"]

    status, headers, body = raw_get(f"/sandbox/acme/api/v2/users/{user_id}", token)
    encoded = raw_get(f"/sandbox/acme/api/v2/users/{quote(user_id, safe='')}", token)

    assert (status, body) == (404, auth0_error(404, "Not Found"))
    assert "must be URL-encoded" in headers[contract.NOTE_HEADER]
    assert encoded[0] == 200 and encoded[2]["user_id"] == user_id


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [
        ("GET", "organizations", "GET /api/v2/organizations"),
        ("PUT", "users/auth0%7C1", "PUT /api/v2/users/{id}"),
        ("GET", "users/auth0%7C1/roles", "GET /api/v2/users/auth0%7C1/roles"),
        ("POST", "users-by-email", "POST /api/v2/users-by-email"),
    ],
)
def test_what_it_does_not_serve_is_auth0s_404_with_a_note(sandbox, token, method, path, named):
    response = api(method, path, token, json={})

    assert response.status_code == 404
    assert response.json() == auth0_error(404, "Not Found")
    assert f"does not serve {named}" in response.headers[contract.NOTE_HEADER]


def test_users_by_email_finds_the_lower_case_address_only(sandbox, token):
    ada = api("POST", "users", token, json=ADA).json()

    found = api("GET", "users-by-email", token, params={"email": "ada@example.com"})
    as_typed = api("GET", "users-by-email", token, params={"email": "Ada@Example.com"})
    missing = api("GET", "users-by-email", token)

    assert ada["email"] == "ada@example.com"
    assert found.json() == [ada]
    assert as_typed.json() == []
    assert missing.status_code == 400
    assert missing.json()["errorCode"] == "invalid_query_string"


def test_lists_page_and_search_like_auth0(sandbox, token):
    for name, plan in (("ada", "pro"), ("bob", "free"), ("cy", "pro")):
        body = {**ADA, "email": f"{name}@example.com", "app_metadata": {"plan": plan}}
        assert api("POST", "users", token, json=body).status_code == 201

    second_page = api(
        "GET", "users", token, params={"per_page": 2, "page": 1, "include_totals": "true"}
    ).json()
    pros = api("GET", "users", token, params={"q": 'app_metadata.plan:"pro"', "fields": "email"})
    too_many = api("GET", "users", token, params={"per_page": 101})

    assert {k: v for k, v in second_page.items() if k != "users"} == {
        "start": 2,
        "limit": 2,
        "length": 1,
        "total": 3,
    }
    assert [u["email"] for u in second_page["users"]] == ["cy@example.com"]
    assert pros.json() == [{"email": "ada@example.com"}, {"email": "cy@example.com"}]
    assert too_many.status_code == 400
    assert too_many.json()["errorCode"] == "invalid_query_string"


def test_delete_answers_204_even_for_a_user_already_gone(sandbox, token):
    path = f"users/{quote(api('POST', 'users', token, json=ADA).json()['user_id'], safe='')}"

    first, second = api("DELETE", path, token), api("DELETE", path, token)

    assert (first.status_code, first.content, second.status_code) == (204, b"", 204)
    assert api("GET", path, token).json()["errorCode"] == "inexistent_user"


# The vault connection --------------------------------------------------------------------------

sandbox_kind = KINDS["sandbox"]


def test_the_connection_test_gets_a_token_from_sluice_itself(sandbox, settings):
    settings.ALLOW_LOCAL_ENDPOINTS = False  # the sandbox's address is Sluice's own, not typed

    result = run_test(sandbox_kind, {"tenant": "acme"})

    assert result.ok, result.message
    assert "sandbox tenant acme issued a Management API token" in result.message


def test_the_connection_test_says_which_tenant_is_missing(sandbox):
    result = run_test(sandbox_kind, {"tenant": "nobody"})

    assert (result.ok, result.field) == (False, "tenant")
    assert result.message == "There is no sandbox tenant nobody; the Sandbox page lists them."


def test_without_a_public_url_the_connection_says_what_to_set(sandbox, settings):
    settings.PUBLIC_URL = ""

    result = run_test(sandbox_kind, {"tenant": "acme"})

    assert (result.ok, result.field) == (False, "tenant")
    assert "SLUICE_PUBLIC_URL" in result.message


def test_a_public_url_nobody_answers_at_is_named(sandbox, settings, unused_port):
    settings.PUBLIC_URL = f"http://127.0.0.1:{unused_port}"

    result = run_test(sandbox_kind, {"tenant": "acme"})

    assert not result.ok
    assert result.message == (
        f"Could not reach the sandbox tenant acme at http://127.0.0.1:{unused_port}/sandbox/acme:"
        " the connection was refused. Check SLUICE_PUBLIC_URL."
    )


# Auth0 steps against it ----------------------------------------------------------------------


def test_auth0_steps_create_read_update_and_search_sandbox_users(sandbox_connection):
    pk = sandbox_connection.pk
    run = run_steps(
        step(
            "create",
            "CREATE_USER",
            payload={**ADA, "email": "{{ context.email }}"},
            connection_id=pk,
        ),
        step("read", "GET_USER", connection_id=pk, user_id="{{ actions.create.user_id }}"),
        step(
            "upgrade",
            "UPDATE_USER",
            connection_id=pk,
            user_id="{{ actions.read.user_id }}",
            changes={"app_metadata": {"plan": "enterprise"}},
        ),
        step(
            "find",
            "SEND_REQUEST",
            connection_id=pk,
            pathname="/api/v2/users-by-email",
            method="GET",
            params={"email": "{{ context.email }}"},
        ),
        input={"context": {"email": "grace@example.com"}},
    )

    assert run.status == "succeeded", run.error
    records = {r.step_id: r for r in run.steps.all()}
    assert records["create"].http_status == 201
    assert records["read"].output["email"] == "grace@example.com"
    assert records["upgrade"].output["app_metadata"] == {"plan": "enterprise"}
    assert records["find"].output["status"] == 200
    assert records["find"].output["body"][0]["app_metadata"] == {"plan": "enterprise"}
    assert records["find"].output["headers"]["x-ratelimit-limit"] == "50"


def test_a_request_it_does_not_serve_fails_the_step_with_auth0s_body_and_a_note(
    sandbox_connection,
):
    run = run_steps(
        step(
            "orgs",
            "SEND_REQUEST",
            connection_id=sandbox_connection.pk,
            pathname="/api/v2/organizations",
            method="GET",
        )
    )

    record = run.steps.get()
    assert record.status == StepRun.Status.FAILED
    assert record.http_status == 404
    assert record.error_body == auth0_error(404, "Not Found")
    assert (
        "404 Not Found: Not Found The sandbox tenant does not serve GET /api/v2/organizations"
        in (record.error)
    )


def test_a_missing_sandbox_user_fails_get_user_as_auth0_would(sandbox_connection):
    client = ManagementClient(Connection.objects.get(pk=sandbox_connection.pk))

    with pytest.raises(ManagementApiError) as failed:
        client.get_user("auth0|000000000000000000000000")

    assert str(failed.value) == "404 Not Found: The user does not exist. (inexistent_user)"
