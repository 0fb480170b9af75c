"""The Management API client against the Auth0 stand-in: tokens, paths, retries and errors.

The tests of what a tenant answers (users, their errors, rate limits) also run against
Sluice's own sandbox tenant, served over HTTP by daphne (``served``): the two must agree.
"""

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone

from sandbox_app.models import SandboxTenant
from tests.standins.auth0 import Reply
from vault_app import crypto
from vault_app.clients import auth0 as client_module
from vault_app.clients import token_cache
from vault_app.clients.auth0 import ManagementApiError, ManagementClient, api_path
from vault_app.kinds.base import outbound_http
from vault_app.models import Connection, ManagementToken

ORGANIZATIONS = "/api/v2/organizations"


@pytest.fixture(autouse=True)
def _no_memo_between_tests():
    client_module.forget_cached_tokens()
    yield
    client_module.forget_cached_tokens()


def make_connection(standin, name="Acme tenant", **overrides) -> Connection:
    credentials = standin.credentials(**overrides)
    connection = Connection(
        kind="auth0",
        name=name,
        config={key: credentials[key] for key in ("domain", "client_id", "audience")},
    )
    connection.set_secrets({"client_secret": credentials["client_secret"]})
    connection.save()
    return connection


def make_client(connection, waits=None, **http) -> ManagementClient:
    client = ManagementClient(connection, **http)
    client.sleep = waits.append if waits is not None else _no_sleep
    return client


def _no_sleep(seconds):
    raise AssertionError(f"The client waited {seconds} s where it should not have.")


def token_requests(standin) -> int:
    return len(standin.requests_to("/oauth/token"))


def api_requests(standin) -> list:
    return [r for r in standin.requests if r.path.startswith("/api/v2/")]


@pytest.fixture
def tenant(db, auth0_standin) -> Connection:
    return make_connection(auth0_standin)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(tenant, waits) -> ManagementClient:
    return make_client(tenant, waits)


@dataclass
class Served:
    """A tenant the client talks to, and every answer it got (with its request)."""

    name: str
    connection: Connection
    rate_limit: int
    http: httpx.Client
    exchanges: list[httpx.Response]
    make_busy: Callable[[int], None]  # answer more than N API requests a second with 429

    def client(self, waits=None) -> ManagementClient:
        return make_client(self.connection, waits, http=self.http)

    def api(self) -> list[httpx.Request]:
        return [r.request for r in self.exchanges if "/api/v2/" in r.request.url.path]

    def token_requests(self) -> int:
        return sum(r.request.url.path.endswith("/oauth/token") for r in self.exchanges)


@pytest.fixture(params=["stand-in", "sandbox"])
def served(request) -> Served:
    """The Auth0 stand-in, then Sluice's sandbox tenant: each test runs against both."""
    exchanges: list[httpx.Response] = []
    http = outbound_http(event_hooks={"response": [exchanges.append]})
    request.addfinalizer(http.close)
    if request.param == "stand-in":
        request.getfixturevalue("db")
        standin = request.getfixturevalue("auth0_standin")

        def busy_standin(limit):
            standin.rate_limit, standin.enforce_rate_limit = limit, True

        connection = make_connection(standin)
        return Served("stand-in", connection, standin.rate_limit, http, exchanges, busy_standin)
    # Committed, where the sandbox (another process) reads it.
    request.applymarker(pytest.mark.django_db(transaction=True))
    tenant = request.getfixturevalue("sandbox")

    def busy_sandbox(limit):
        SandboxTenant.objects.filter(pk=tenant.pk).update(rate_limit=limit)

    connection = request.getfixturevalue("sandbox_connection")
    return Served("sandbox", connection, tenant.rate_limit, http, exchanges, busy_sandbox)


@pytest.fixture
def served_client(served, waits) -> ManagementClient:
    return served.client(waits)


def new_user(client, email="ada@example.com", **extra):
    body = {
        "connection": "Username-Password-Authentication",
        "email": email,
        "password": "correct horse battery staple",
        **extra,
    }
    return client.create_user(body).body


# One token, shared ---------------------------------------------------------------------------


def test_many_calls_from_many_clients_cost_one_token(served):
    user = new_user(served.client())

    for _ in range(3):
        with served.client() as client:
            for _ in range(10):
                assert client.get_user(user["user_id"]).status == 200

    assert served.token_requests() == 1
    assert len({r.headers["authorization"] for r in served.api()}) == 1
    assert len(served.api()) == 31


def test_the_token_is_shared_through_the_database_sealed(client, tenant, auth0_standin):
    client.request("GET", ORGANIZATIONS)
    client_module.forget_cached_tokens()  # as if another worker process were asking

    make_client(Connection.objects.get(pk=tenant.pk)).request("GET", ORGANIZATIONS)

    assert token_requests(auth0_standin) == 1
    [issued] = auth0_standin.tokens
    stored = ManagementToken.objects.get(connection=tenant)
    assert issued not in stored.sealed_token
    assert crypto.unseal(stored.sealed_token) == {"access_token": issued}


def test_a_token_is_used_until_shortly_before_it_expires(client, auth0_standin, monkeypatch):
    auth0_standin.token_lifetime = 3600
    started = timezone.now()
    client.request("GET", ORGANIZATIONS)
    stored = ManagementToken.objects.get()
    assert timedelta(minutes=55) <= stored.use_until - started < timedelta(minutes=55, seconds=5)

    monkeypatch.setattr(token_cache, "now", lambda: started + timedelta(minutes=50))
    client.request("GET", ORGANIZATIONS)
    assert token_requests(auth0_standin) == 1

    monkeypatch.setattr(token_cache, "now", lambda: started + timedelta(minutes=56))
    client.request("GET", ORGANIZATIONS)
    assert token_requests(auth0_standin) == 2
    first, second = (r.bearer for r in api_requests(auth0_standin)[1:])
    assert first != second


def test_a_token_for_changed_credentials_is_not_reused(tenant, auth0_standin):
    auth0_standin.add_client("second-client", "second-client-secret-value")
    make_client(tenant).request("GET", ORGANIZATIONS)

    tenant.config["client_id"] = "second-client"
    tenant.set_secrets({"client_secret": "second-client-secret-value"})
    tenant.save()
    make_client(tenant).request("GET", ORGANIZATIONS)

    assert token_requests(auth0_standin) == 2
    last = api_requests(auth0_standin)[-1]
    assert auth0_standin.tokens[last.bearer].client_id == "second-client"
    assert ManagementToken.objects.count() == 1


def test_an_unreadable_stored_token_is_replaced(client, tenant, auth0_standin):
    client.request("GET", ORGANIZATIONS)
    client_module.forget_cached_tokens()
    ManagementToken.objects.update(sealed_token="sealed-with-a-key-since-removed")

    client.request("GET", ORGANIZATIONS)

    assert token_requests(auth0_standin) == 2


def _in_threads(count, work):
    """Run ``work()`` in ``count`` threads released together; return results or exceptions."""
    barrier, results = threading.Barrier(count), [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # collected for the assertions
            results[index] = exc
        finally:
            db_connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_first_requests_fetch_one_token(transactional_db, auth0_standin):
    tenant = make_connection(auth0_standin)
    auth0_standin.token_delay = 0.3

    def work():
        return make_client(Connection.objects.get(pk=tenant.pk)).request("GET", ORGANIZATIONS)

    results = _in_threads(8, work)

    assert [getattr(r, "status", r) for r in results] == [200] * 8
    assert token_requests(auth0_standin) == 1


def test_concurrent_401s_share_one_new_token(transactional_db, auth0_standin):
    tenant = make_connection(auth0_standin)
    make_client(tenant).request("GET", ORGANIZATIONS)
    auth0_standin.expire_tokens()
    auth0_standin.token_delay = 0.3

    results = _in_threads(6, lambda: make_client(tenant).request("GET", ORGANIZATIONS))

    assert [getattr(r, "status", r) for r in results] == [200] * 6
    assert token_requests(auth0_standin) == 2


CHILD = """
import sys
import django
django.setup()
from django.conf import settings
from django.db import connections
connections["default"].settings_dict["NAME"] = sys.argv[1]
settings.ALLOW_LOCAL_ENDPOINTS = True
from vault_app.clients.auth0 import ManagementClient
from vault_app.models import Connection
connection = Connection.objects.get(pk=int(sys.argv[2]))
print("ready", flush=True)
sys.stdin.readline()
print(ManagementClient(connection).request("GET", "/api/v2/organizations").status)
"""


def test_worker_processes_sharing_the_database_fetch_one_token(transactional_db, auth0_standin):
    tenant = make_connection(auth0_standin)
    auth0_standin.token_delay = 0.5
    name = str(db_connection.settings_dict["NAME"])
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, name, str(tenant.pk)],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "sluice.settings"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    ready = [worker.stdout.readline().strip() for worker in workers]  # type: ignore[union-attr]
    for worker in workers:  # all at once: they race for the token
        worker.stdin.write("go\n")  # type: ignore[union-attr]
        worker.stdin.flush()  # type: ignore[union-attr]
    outputs = [worker.communicate(timeout=60) for worker in workers]

    assert ready == ["ready"] * 3, [err for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == ["200"] * 3, [err for _, err in outputs]
    assert token_requests(auth0_standin) == 1


# 401: a new token, once ----------------------------------------------------------------------


def test_after_a_401_it_fetches_a_new_token_once_and_retries(client, auth0_standin):
    client.request("GET", ORGANIZATIONS)
    auth0_standin.expire_tokens()

    assert client.request("GET", ORGANIZATIONS).status == 200

    assert token_requests(auth0_standin) == 2
    assert [r.reply.status for r in api_requests(auth0_standin)] == [200, 401, 200]


def test_a_second_401_is_an_error_not_a_loop(client, auth0_standin):
    body = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}
    auth0_standin.force(ORGANIZATIONS, 401, body, times=5)

    with pytest.raises(ManagementApiError) as failed:
        client.request("GET", ORGANIZATIONS)

    assert failed.value.status == 401
    assert str(failed.value) == "401 Unauthorized: Invalid token"
    assert token_requests(auth0_standin) == 2
    assert len(api_requests(auth0_standin)) == 2


def test_wrong_credentials_fail_at_the_token_without_calling_the_api(auth0_standin, db):
    tenant = make_connection(auth0_standin, client_secret="not-the-right-secret")

    with pytest.raises(ManagementApiError) as failed:
        make_client(tenant).get_user("auth0|123")

    assert str(failed.value) == (
        "Auth0 did not issue a Management API token: 401 access_denied: Unauthorized"
    )
    assert failed.value.status == 401
    assert failed.value.body == {"error": "access_denied", "error_description": "Unauthorized"}
    assert api_requests(auth0_standin) == []
    assert ManagementToken.objects.count() == 0


def test_a_missing_scope_is_auth0s_403(auth0_standin, db):
    auth0_standin.add_client("reader", "reader-secret-value-1", scopes=("read:users",))
    tenant = make_connection(
        auth0_standin, client_id="reader", client_secret="reader-secret-value-1"
    )

    with pytest.raises(ManagementApiError) as failed:
        new_user(make_client(tenant))

    assert failed.value.status == 403
    assert str(failed.value) == (
        "403 Forbidden: Insufficient scope, expected any of: create:users (insufficient_scope)"
    )


# Users -------------------------------------------------------------------------------------


def test_it_creates_a_user_and_auth0_answers_with_it(served, served_client):
    response = served_client.create_user(
        {
            "connection": "Username-Password-Authentication",
            "email": "ada@example.com",
            "password": "correct horse battery staple",
            "user_metadata": {"lang": "en"},
        }
    )

    assert response.status == 201
    user = response.body
    assert user["user_id"].startswith("auth0|") and len(user["user_id"]) == len("auth0|") + 24
    assert user["email"] == "ada@example.com"
    assert user["user_metadata"] == {"lang": "en"}
    assert user["created_at"].endswith("Z")
    assert "password" not in user
    assert user["identities"][0]["connection"] == "Username-Password-Authentication"
    assert response.headers["x-ratelimit-limit"] == str(served.rate_limit)
    [request] = served.api()
    assert (request.method, request.headers["content-type"]) == ("POST", "application/json")


def test_a_duplicate_email_is_auth0s_409(served_client):
    new_user(served_client, "ada@example.com")

    with pytest.raises(ManagementApiError) as failed:
        new_user(served_client, "ADA@example.com")

    assert failed.value.status == 409
    assert str(failed.value) == "409 Conflict: The user already exists. (auth0_idp_error)"
    assert failed.value.body == {
        "statusCode": 409,
        "error": "Conflict",
        "message": "The user already exists.",
        "errorCode": "auth0_idp_error",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "a@example.com", "password": "long-enough-1"}, "connection"),
        ({"connection": "Username-Password-Authentication", "email": "a@example.com"}, "password"),
        ({"connection": "Username-Password-Authentication", "password": "x" * 9}, "email"),
        ({"connection": "Username-Password-Authentication", "shoe_size": 44}, "shoe_size"),
    ],
)
def test_a_bad_create_body_is_auth0s_invalid_body(served_client, body, message):
    with pytest.raises(ManagementApiError) as failed:
        served_client.create_user(body)

    assert failed.value.status == 400
    assert failed.value.body["errorCode"] == "invalid_body"
    assert message in failed.value.body["message"]
    assert str(failed.value).startswith("400 Bad Request: Payload validation error")


def test_a_missing_user_is_auth0s_404_with_its_body_and_headers(served_client):
    with pytest.raises(ManagementApiError) as failed:
        served_client.get_user("auth0|000000000000000000000000")

    error = failed.value
    assert str(error) == "404 Not Found: The user does not exist. (inexistent_user)"
    assert error.status == 404
    assert error.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(error.headers)


def test_update_merges_metadata_and_null_removes_a_key(served_client):
    client = served_client
    user = new_user(
        client, user_metadata={"lang": "en", "theme": "dark"}, app_metadata={"plan": "free"}
    )

    updated = client.update_user(
        user["user_id"],
        {"user_metadata": {"theme": None, "beta": True}, "app_metadata": {"plan": "pro"}},
    ).body

    assert updated["user_metadata"] == {"lang": "en", "beta": True}
    assert updated["app_metadata"] == {"plan": "pro"}
    assert client.get_user(user["user_id"]).body == updated


@pytest.mark.parametrize(
    ("user_id", "encoded"),
    [
        ("auth0|123", "auth0%7C123"),
        ("email|jane doe", "email%7Cjane%20doe"),
        ("google-oauth2|1.2_3~x", "google-oauth2%7C1.2_3~x"),
        ("sms|+15551234567", "sms%7C%2B15551234567"),
        ("waad|a/b", "waad%7Ca%2Fb"),
        ("auth0|josé", "auth0%7Cjos%C3%A9"),
        ("x?y#z&w=1%", "x%3Fy%23z%26w%3D1%25"),
    ],
)
def test_user_ids_are_url_encoded_in_the_path(served, served_client, user_id, encoded):
    with pytest.raises(ManagementApiError) as failed:
        served_client.get_user(user_id)

    [request] = served.api()
    assert request.url.raw_path.decode().endswith(f"/api/v2/users/{encoded}")
    assert failed.value.body["errorCode"] == "inexistent_user"


@pytest.mark.parametrize("local_id", ["64b0c5e2f1a2b3c4d5e6f7a8", "jane doe", "a/b", "josé|x"])
def test_an_encoded_user_id_reaches_its_user(served_client, local_id):
    user = new_user(served_client, user_id=local_id)

    assert user["user_id"] == f"auth0|{local_id}"
    assert served_client.get_user(user["user_id"]).body["email"] == "ada@example.com"


@pytest.mark.parametrize("user_id", ["", "  ", ".", "..", "../oauth/token", "a/../b", "x\ny", None])
def test_a_user_id_that_would_change_the_path_is_refused(served, served_client, user_id):
    with pytest.raises(ValueError, match="user ID"):
        served_client.get_user(user_id)

    assert served.exchanges == []


def test_a_body_that_is_not_an_object_is_refused(client, auth0_standin):
    with pytest.raises(ValueError, match="JSON object"):
        client.create_user(["not", "an", "object"])  # type: ignore[arg-type]

    assert auth0_standin.requests == []


# Custom API requests -----------------------------------------------------------------------


def test_a_custom_request_creates_lists_and_deletes(client, auth0_standin):
    created = client.request("POST", ORGANIZATIONS, json={"name": "acme", "display_name": "Acme"})
    listed = client.request("get", ORGANIZATIONS)
    deleted = client.request("DELETE", f"{ORGANIZATIONS}/{created.body['id']}")

    assert created.status == 201
    assert created.body["id"].startswith("org_")
    assert listed.body == [created.body]
    assert (deleted.status, deleted.body) == (204, None)
    assert auth0_standin.organizations == {}


def test_users_can_be_searched_with_fields_picked(served_client):
    client = served_client
    ada = new_user(client, "ada@example.com")
    new_user(client, "bob@example.com")

    found = client.request(
        "GET",
        "/api/v2/users",
        params={"q": 'email:"ADA@example.com"', "fields": "user_id,email", "include_totals": True},
    ).body

    assert found["users"] == [{"user_id": ada["user_id"], "email": "ada@example.com"}]
    assert found["total"] == 1


def test_url_params_are_encoded_by_the_client(client, auth0_standin):
    response = client.request(
        "GET",
        ORGANIZATIONS,
        params={
            "page": 0,
            "per_page": 2.0,
            "include_totals": True,
            "q": 'name:"a b"&x=1#y',
            "skipped": None,
            "fields": ["id", "name"],
        },
    )

    assert response.body["limit"] == 2
    [request] = api_requests(auth0_standin)
    assert request.query == {
        "page": ["0"],
        "per_page": ["2"],
        "include_totals": ["true"],
        "q": ['name:"a b"&x=1#y'],
        "fields": ["id", "name"],
    }
    assert request.path == ORGANIZATIONS


@pytest.mark.parametrize("params", [{"a": {"b": 1}}, {"": "x"}, {"a": float("nan")}, ["a", "b"]])
def test_url_params_that_cannot_be_encoded_are_refused(client, auth0_standin, params):
    with pytest.raises(ValueError, match="URL Param"):
        client.request("GET", ORGANIZATIONS, params=params)

    assert auth0_standin.requests == []


def test_user_headers_are_sent_beside_sluices_token(client, auth0_standin):
    client.request("GET", ORGANIZATIONS, headers={"X-Correlation-Id": "run-42", "Accept": "*/*"})

    [request] = api_requests(auth0_standin)
    assert request.header("x-correlation-id") == "run-42"
    assert request.header("accept") == "*/*"
    assert request.bearer in auth0_standin.tokens


@pytest.mark.parametrize(
    "name",
    ["Authorization", "authorization", "AUTHORIZATION", "Host", "host", "Proxy-Authorization"]
    + ["Content-Length", "Transfer-Encoding"],
)
def test_headers_that_would_override_auth_or_host_are_refused(client, auth0_standin, name):
    with pytest.raises(ValueError, match=f"The {name} header may not be set"):
        client.request("GET", ORGANIZATIONS, headers={name: "Bearer someone-elses-token"})

    assert auth0_standin.requests == []


@pytest.mark.parametrize(
    "headers",
    [{"X-Evil": "a\r\nHost: evil.example"}, {"X-Name": "José"}, {"Bad Name": "x"}, {"X-A": 1e999}],
)
def test_header_values_that_could_inject_are_refused(client, auth0_standin, headers):
    with pytest.raises(ValueError, match="header"):
        client.request("GET", ORGANIZATIONS, headers=headers)

    assert auth0_standin.requests == []


def test_an_unknown_method_is_refused(client, auth0_standin):
    with pytest.raises(ValueError, match="GET, POST, PUT, PATCH or DELETE"):
        client.request("TRACE", ORGANIZATIONS)

    assert auth0_standin.requests == []


HOSTILE_PATHS = [
    "https://evil.example/api/v2/users",
    "http://127.0.0.1:1/api/v2/users",
    "//evil.example/api/v2/users",
    "api/v2/users",
    "@evil.example/api/v2/users",
    "/api/v2@evil.example/users",
    "/oauth/token",
    "/api/v1/users",
    "/API/V2/users",
    "/api/v2",
    "/api/v2//evil.example",
    "/api/v2/../../oauth/token",
    "/api/v2/./users",
    "/api/v2/users/..",
    "/api/v2/%2e%2e/oauth/token",
    "/api/v2/%2E%2E/%2E%2E/oauth/token",
    "/api/v2/.%2e/oauth/token",
    "/api/v2/users/..%2f..%2foauth%2ftoken",
    "/api/v2/users/%2F%2Fevil.example",
    "/api/v2/users/%252e%252e/x",
    "/api/v2/..;/oauth/token",
    "/api/v2/%ef%bc%8e%ef%bc%8e/oauth/token",
    "/api/v2/%c0%ae%c0%ae/oauth/token",
    "/api/v2\\..\\oauth\\token",
    "/api/v2/users/%5c..%5coauth",
    "/api/v2/users\r\nHost: evil.example",
    "/api/v2/users/%0d%0aX-Injected:%201",
    "/api/v2/users/%00",
    "/api/v2/users /x",
    "/api/v2/users\t",
    "/api/v2/users?connection=evil",
    "/api/v2/users#fragment",
    "/api/v2/users/%zz",
    "/api/v2/users/auth0|123",
    "/api/v2/users/\u00e9",
    "",
    "/api/v2/" + "a" * 3000,
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_path_that_could_leave_the_tenant_is_refused_before_any_request(
    client, auth0_standin, path
):
    with pytest.raises(ValueError) as refused:
        client.request("GET", path)

    assert str(refused.value)
    assert auth0_standin.requests == []


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("https://evil.example/api/v2/users", "not a URL or another host"),
        ("/api/v2/users?q=1", "URL Params"),
        ("/api/v2/%2e%2e/oauth", ". or .. segments"),
        ("/api/v2/users/auth0|123", "encodeURIComponent"),
        ("/oauth/token", "under /api/v2/"),
    ],
)
def test_a_refused_path_says_what_to_do(path, says):
    with pytest.raises(ValueError, match=says.replace(".", r"\.").replace("?", r"\?")):
        api_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/organizations",
        "/api/v2/",
        "/api/v2/users/auth0%7C123",
        "/api/v2/users/email%7Cjane%40example.com",
        "/api/v2/users/a%20b/roles",
        "/api/v2/organizations/org_1/members",
        "/api/v2/users/auth0%7Cjos%C3%A9",
        "/api/v2/users-by-email",
        "/api/v2/clients/abc:def@ghi",
    ],
)
def test_plain_api_paths_are_accepted(path):
    assert api_path(path) == path


# Retries -----------------------------------------------------------------------------------


def test_a_429_waits_for_retry_after_and_tries_again(client, auth0_standin, waits):
    auth0_standin.rate_limited(ORGANIZATIONS, times=2, retry_after=2)

    assert client.request("GET", ORGANIZATIONS).status == 200

    assert waits == [2.0, 2.0]
    assert [r.reply.status for r in api_requests(auth0_standin)] == [429, 429, 200]


def test_a_429_without_retry_after_waits_until_the_rate_limit_reset(client, auth0_standin, waits):
    auth0_standin.rate_limited(ORGANIZATIONS, retry_after=3, send_retry_after=False)

    assert client.request("GET", ORGANIZATIONS).status == 200

    [wait] = waits
    assert 1.5 < wait <= 3.0


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0, 0.0),  # a date in the past
        ({"Retry-After": "soon", "x-ratelimit-reset": "not a number"}, 1.0, 1.0),
        ({"Retry-After": "inf"}, None, None),
    ],
)
def test_odd_rate_limit_headers_give_a_sane_wait(client, auth0_standin, waits, headers, low, high):
    auth0_standin.force(ORGANIZATIONS, 429, {"statusCode": 429}, headers=headers)

    try:
        client.request("GET", ORGANIZATIONS)
    except ManagementApiError as exc:
        assert low is None
        assert "Auth0 asked to wait 86400 s" in str(exc)
    else:
        [wait] = waits
        assert low <= wait <= high


def test_a_post_is_retried_after_a_429_since_auth0_did_not_run_it(client, auth0_standin, waits):
    auth0_standin.rate_limited("/api/v2/users", retry_after=1)

    assert new_user(client)["email"] == "ada@example.com"
    assert waits == [1.0]
    assert len(auth0_standin.users) == 1


def test_429s_are_retried_at_most_three_times(client, auth0_standin, waits):
    auth0_standin.rate_limited(ORGANIZATIONS, times=10, retry_after=0)

    with pytest.raises(ManagementApiError) as failed:
        client.request("GET", ORGANIZATIONS)

    assert failed.value.status == 429
    assert str(failed.value) == (
        "429 Too Many Requests: Global limit has been reached (too_many_requests) "
        "Gave up after 4 attempts."
    )
    assert failed.value.body["errorCode"] == "too_many_requests"
    assert failed.value.headers["x-ratelimit-remaining"] == "0"
    assert len(waits) == 3
    assert len(api_requests(auth0_standin)) == 4


def test_a_429_asking_for_longer_than_the_budget_fails_at_once(client, auth0_standin, waits):
    auth0_standin.rate_limited(ORGANIZATIONS, retry_after=60)

    with pytest.raises(ManagementApiError) as failed:
        client.request("GET", ORGANIZATIONS)

    assert failed.value.status == 429
    assert "Auth0 asked to wait 60 s; Sluice waits at most 10 s per request." in str(failed.value)
    assert waits == []
    assert len(api_requests(auth0_standin)) == 1


def test_the_waiting_budget_counts_every_wait(client, auth0_standin, waits):
    client.max_wait = 5
    auth0_standin.rate_limited(ORGANIZATIONS, times=5, retry_after=2)

    with pytest.raises(ManagementApiError):
        client.request("GET", ORGANIZATIONS)

    assert waits == [2.0, 2.0]
    assert len(api_requests(auth0_standin)) == 3


def test_a_busy_tenant_is_waited_for_in_real_time(served, served_client):
    served_client.sleep = time.sleep
    served.make_busy(1)  # a second request within the same second is refused

    statuses = [served_client.request("GET", "/api/v2/users").status for _ in range(4)]

    assert statuses == [200] * 4
    refused = [r for r in served.exchanges if r.status_code == 429]
    assert refused
    assert refused[0].headers["x-ratelimit-limit"] == "1"
    assert refused[0].headers["x-ratelimit-remaining"] == "0"
    assert int(refused[0].headers["x-ratelimit-reset"]) > 1_600_000_000  # epoch seconds
    assert refused[0].json()["errorCode"] == "too_many_requests"


def test_a_rate_limited_token_endpoint_is_waited_for(client, auth0_standin, waits):
    auth0_standin.rate_limited("/oauth/token", retry_after=1)

    assert client.request("GET", ORGANIZATIONS).status == 200

    assert waits == [1.0]
    assert token_requests(auth0_standin) == 2


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_5xx_is_retried_with_backoff_for_idempotent_methods(client, auth0_standin, waits, method):
    path = f"{ORGANIZATIONS}/org_1" if method == "DELETE" else ORGANIZATIONS
    auth0_standin.force(path, 503, {"statusCode": 503, "error": "Service Unavailable"}, times=2)

    assert client.request(method, path).status in (200, 204)

    assert waits == [0.5, 1.0]
    assert [r.reply.status for r in api_requests(auth0_standin)][-1] in (200, 204)
    assert len(api_requests(auth0_standin)) == 3


def test_5xx_retries_are_counted_and_budgeted(client, auth0_standin, waits):
    auth0_standin.force(ORGANIZATIONS, 500, {"statusCode": 500, "error": "Internal"}, times=9)

    with pytest.raises(ManagementApiError) as failed:
        client.request("PUT", ORGANIZATIONS, json={})

    assert failed.value.status == 500
    assert str(failed.value).endswith("Gave up after 4 attempts.")
    assert waits == [0.5, 1.0, 2.0]
    assert len(api_requests(auth0_standin)) == 4


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_5xx_is_never_retried_for_post_or_patch(client, auth0_standin, method):
    auth0_standin.force(
        "/api/v2/users/{id}" if method == "PATCH" else "/api/v2/users",
        502,
        "<html><h1>502 Bad Gateway</h1></html>",
        headers={"Content-Type": "text/html"},
    )

    with pytest.raises(ManagementApiError) as failed:
        if method == "PATCH":
            client.update_user("auth0|123", {"blocked": True})
        else:
            new_user(client)

    assert failed.value.status == 502
    assert str(failed.value) == "502 Bad Gateway (the answer was not Auth0's JSON error)."
    assert failed.value.body == "<html><h1>502 Bad Gateway</h1></html>"
    assert len(api_requests(auth0_standin)) == 1
    assert auth0_standin.users == {}


class FlakyApi(httpx.BaseTransport):
    """Lets /oauth/token through; /api/v2 requests fail with a network error ``failures`` times."""

    def __init__(self, failures: int):
        self.failures = failures
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v2/") and self.failures > 0:
            self.failures -= 1
            raise httpx.ReadTimeout("timed out", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


def test_network_errors_are_retried_for_get(tenant, auth0_standin, waits):
    with httpx.Client(transport=FlakyApi(2)) as http:
        response = make_client(tenant, waits, http=http).request("GET", ORGANIZATIONS)

    assert response.status == 200
    assert waits == [0.5, 1.0]


def test_network_errors_are_never_retried_for_post(tenant, auth0_standin):
    with httpx.Client(transport=FlakyApi(1)) as http, pytest.raises(ManagementApiError) as failed:
        new_user(make_client(tenant, http=http))

    assert failed.value.status is None
    assert failed.value.body is None
    assert str(failed.value) == f"{auth0_standin.domain} did not answer within 3 seconds."


def test_an_unreachable_tenant_is_a_network_error_after_the_retries(db, unused_port, waits):
    tenant = Connection(
        kind="auth0",
        name="Gone",
        config={"domain": f"127.0.0.1:{unused_port}", "client_id": "c", "audience": ""},
    )
    tenant.set_secrets({"client_secret": "gone-secret-value"})
    tenant.save()

    with pytest.raises(ManagementApiError) as failed:
        make_client(tenant, waits).request("POST", ORGANIZATIONS, json={"name": "x"})

    assert failed.value.status is None
    assert str(failed.value) == (
        f"Could not reach 127.0.0.1:{unused_port}: the connection was refused. "
        "Gave up after 4 attempts."
    )
    assert waits == [0.5, 1.0, 2.0]  # asking for a token again is safe even for a POST


# Secrets stay secret ---------------------------------------------------------------------------


def test_neither_token_nor_secret_reaches_a_message_or_a_log_line(
    tenant, auth0_standin, caplog, waits
):
    for name in ("", "httpx", "httpcore", "vault_app"):
        caplog.set_level(logging.DEBUG, logger=name)
    client = make_client(tenant, waits)
    errors = []

    def attempt(call):
        try:
            call()
        except ManagementApiError as exc:
            errors.append(exc)

    def echo_token(request):
        return Reply(400, {"statusCode": 400, "error": "Bad Request", "message": request.bearer})

    attempt(lambda: new_user(client))
    attempt(lambda: client.get_user("auth0|missing"))
    auth0_standin.expire_tokens()
    auth0_standin.rate_limited(ORGANIZATIONS, retry_after=1)
    attempt(lambda: client.request("GET", ORGANIZATIONS))
    auth0_standin.route("GET", "/api/v2/echo", echo_token)
    attempt(lambda: client.request("GET", "/api/v2/echo"))
    auth0_standin.force(
        "/oauth/token",
        401,
        {"error": "access_denied", "error_description": f"Bad {auth0_standin.client_secret}"},
    )
    client_module.forget_cached_tokens()
    ManagementToken.objects.all().delete()
    attempt(lambda: client.request("GET", ORGANIZATIONS))

    assert len(errors) == 3
    assert "Bad ********" in str(errors[-1])
    assert errors[1].body["message"] == "********"
    assert "HTTP Request: GET" in caplog.text
    secrets = [auth0_standin.client_secret, *auth0_standin.tokens]
    assert len(secrets) == 3
    shown = caplog.text + "".join(f"{e}{e.body!r}{e.headers!r}{e!r}" for e in errors)
    for secret in secrets:
        assert secret not in shown
    assert "Bearer" not in caplog.text
    assert auth0_standin.client_secret not in repr(client)


def test_it_refuses_a_connection_of_another_kind(db):
    twilio = Connection.objects.create(kind="twilio", name="Texts", config={})

    with pytest.raises(ValueError, match="not an Auth0 connection"):
        ManagementClient(twilio)
