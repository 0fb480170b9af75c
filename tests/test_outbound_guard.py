"""Outbound HTTP to addresses a flow chooses goes only to public addresses (unless the
operator allows more), checks the address it connects to rather than the name, follows no
redirect to a refused address, caps time and size, and never hands a vault secret to a host
other than the connection's."""

import socket

import httpcore
import httpx
import pytest

from flows_app.models import Run
from tests.flow_helpers import run_steps
from tests.http_helpers import API_KEY, BEARER_TOKEN, http_connection, http_step
from tests.standins.api import ApiStandin
from vault_app.clients import guarded
from vault_app.kinds import KINDS
from vault_app.models import run_test

PARTNER = "api.partner.test"  # a name only this test's resolver knows


@pytest.fixture
def public_only(settings):
    """Sluice as deployed: no local endpoints, no allow-list."""
    settings.ALLOW_LOCAL_ENDPOINTS = False
    settings.OUTBOUND_ALLOW_HOSTS = []
    return settings


@pytest.fixture
def resolver(monkeypatch):
    """Resolve names from ``answers`` (name -> addresses) and count the look-ups."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        found = answers[host] if isinstance(answers[host], list) else answers[host](len(asked))
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [(family[6 if ":" in a else 4], socket.SOCK_STREAM, 6, "", (a, port)) for a in found]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:{port}/", "a loopback address"),
        ("http://10.20.30.40/", "a private address"),
        ("http://192.168.1.10/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[::1]:{port}/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/", "a loopback address"),
        ("http://[fd00:ec2::254]/", "a cloud metadata address"),
        ("http://localhost:{port}/", "a loopback address"),
        ("http://2130706433:{port}/", "a loopback address"),  # 127.0.0.1 as one number
    ],
)
def test_local_and_private_addresses_are_refused(db, public_only, api_standin, url, why):
    api_standin.answer("GET", "/", 200, {"secret": "internal"})
    run = run_steps(http_step(url=url.format(port=api_standin.port), method="GET"))
    assert run.status == Run.Status.FAILED
    assert why in run.error and "Sluice does not send requests there" in run.error
    assert api_standin.requests == []


def test_a_name_that_resolves_to_loopback_is_refused(db, public_only, api_standin, resolver):
    answers, _ = resolver
    answers["internal.example.com"] = ["127.0.0.1"]
    answers["mixed.example.com"] = ["93.184.216.34", "127.0.0.1"]
    for host in ("internal.example.com", "mixed.example.com"):
        with pytest.raises(guarded.AddressRefused, match="resolves to 127.0.0.1"):
            guarded.fetch(httpx.Request("GET", f"http://{host}:{api_standin.port}/"))
    assert api_standin.requests == []


def test_the_address_checked_is_the_address_connected_to(db, public_only, resolver, monkeypatch):
    """A name that answers a public address to the check and loopback a moment later (DNS
    rebinding) is connected to at the checked address: it is resolved once, where the
    socket is opened."""
    answers, asked = resolver
    answers["rebind.example.com"] = lambda n: ["93.184.216.34"] if n == 1 else ["127.0.0.1"]
    connected: list[str] = []

    def connect_tcp(self, host, port, *args, **kwargs):
        connected.append(host)
        raise httpcore.ConnectError("no route in the test")  # the public internet is not here

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    with pytest.raises(guarded.OutboundError, match="Could not reach rebind.example.com"):
        guarded.fetch(httpx.Request("GET", "http://rebind.example.com/"))
    assert connected == ["93.184.216.34"]
    assert asked == ["rebind.example.com"]


def test_an_allowed_host_is_reached_at_its_address_with_its_own_name(
    db, public_only, api_standin, resolver
):
    answers, _ = resolver
    answers[PARTNER] = ["127.0.0.1"]
    public_only.OUTBOUND_ALLOW_HOSTS = [PARTNER]
    api_standin.answer("GET", "/ping", 200, {"pong": True})
    run = run_steps(http_step(url=f"http://{PARTNER}:{api_standin.port}/ping", method="GET"))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert api_standin.requests[0].header("host") == f"{PARTNER}:{api_standin.port}"


def test_a_redirect_to_a_refused_address_is_not_followed(db, public_only, api_standin, resolver):
    answers, _ = resolver
    answers[PARTNER] = ["127.0.0.1"]
    public_only.OUTBOUND_ALLOW_HOSTS = [PARTNER]
    port = api_standin.port
    api_standin.answer("GET", "/go", 302, headers={"Location": f"http://127.0.0.1:{port}/admin"})
    api_standin.answer("GET", "/go-local", 307, headers={"Location": f"http://localhost:{port}/"})
    api_standin.answer("GET", "/admin", 200, {"secret": "internal"})
    for path in ("/go", "/go-local"):
        run = run_steps(http_step(url=f"http://{PARTNER}:{port}{path}", method="GET"))
        assert run.status == Run.Status.FAILED
        assert "a loopback address" in run.error
    assert [r.path for r in api_standin.requests] == ["/go", "/go-local"]


def test_redirects_are_followed_up_to_five(db, api_standin):
    for hop in range(7):
        api_standin.answer("GET", f"/r{hop}", 302, headers={"Location": f"/r{hop + 1}"})
    api_standin.answer("GET", "/r5", 200, {"arrived": 5})
    run = run_steps(http_step(url=api_standin.url("/r0"), method="GET"))
    assert run.steps.get().output["body"] == {"arrived": 5}
    api_standin.answer("GET", "/r5", 302, headers={"Location": "/r6"})
    run = run_steps(http_step(url=api_standin.url("/r0"), method="GET"))
    assert "Gave up after 5 redirects." in run.error


def test_a_redirect_to_another_scheme_is_refused(db, api_standin):
    api_standin.answer("GET", "/go", 302, headers={"Location": "file:///etc/passwd"})
    run = run_steps(http_step(url=api_standin.url("/go"), method="GET"))
    assert "over http or https only, not file" in run.error


@pytest.mark.parametrize("setup", ["BEARER", "API_KEY", "BASIC_AUTH"])
def test_a_vault_secret_does_not_follow_a_redirect_to_another_host(db, api_standin, setup):
    with ApiStandin() as elsewhere:
        elsewhere.answer("POST", "/collect", 200, {"took": "it"})
        connection = http_connection(api_standin, setup)
        api_standin.answer("POST", "/go", 307, headers={"Location": elsewhere.url("/collect")})
        api_standin.answer("POST", "/stay", 307, headers={"Location": "/landed"})
        api_standin.answer("POST", "/landed", 200, {"ok": True})
        run = run_steps(
            http_step("away", url=api_standin.url("/go"), connection_id=connection.pk),
            http_step("home", url=api_standin.url("/stay"), connection_id=connection.pk),
        )
        assert run.status == Run.Status.SUCCEEDED, run.error
        [collected] = elsewhere.requests
        assert collected.header("authorization") is None
        assert collected.header("x-api-key") is None
        assert BEARER_TOKEN not in collected.target and API_KEY not in collected.target
        assert api_standin.requests_to("/landed")[0].header("authorization") or (
            api_standin.requests_to("/landed")[0].header("x-api-key") == API_KEY
        )


def test_a_redirect_that_would_carry_a_query_key_elsewhere_is_refused(db, api_standin):
    with ApiStandin() as elsewhere:
        keyed = http_connection(api_standin, "API_KEY", key_name="key", key_in="QUERY")
        leak = elsewhere.url(f"/collect?key={API_KEY}")
        api_standin.answer("GET", "/go", 302, headers={"Location": leak})
        run = run_steps(http_step(url=api_standin.url("/go"), method="GET", connection_id=keyed.pk))
        assert run.status == Run.Status.FAILED
        assert "would carry the credentials of Partner API" in run.error
        assert elsewhere.requests == []
        assert API_KEY not in run.error


def test_an_answer_larger_than_the_limit_fails_the_step(db, api_standin, settings):
    settings.HTTP_MAX_RESPONSE_BYTES = 4096
    api_standin.answer("GET", "/big", 200, "x" * 10_000)
    api_standin.answer("GET", "/small", 200, "x" * 4000)
    run = run_steps(http_step(url=api_standin.url("/big"), method="GET"))
    assert "The answer is larger than 4,096 bytes" in run.error
    run = run_steps(http_step(url=api_standin.url("/small"), method="GET"))
    assert run.status == Run.Status.SUCCEEDED


def test_an_answer_that_never_comes_fails_the_step_after_the_time_limit(db, api_standin, settings):
    settings.HTTP_TIMEOUT = 1
    api_standin.hold("GET", "/slow")
    run = run_steps(http_step(url=api_standin.url("/slow"), method="GET"))
    assert run.status == Run.Status.FAILED
    assert "127.0.0.1 did not answer within 1 seconds." in run.error


def test_an_oauth_token_endpoint_on_a_private_address_is_refused(db, public_only, api_standin):
    credentials = {
        "setup": "OAUTH_CLIENT_CREDENTIALS",
        "client_id": "c",
        "client_secret": "s",
        "token_endpoint": f"http://127.0.0.1:{api_standin.port}/oauth/token",
    }
    result = run_test(KINDS["http"], {**credentials, "hosts": "93.184.216.34"})
    assert not result.ok
    assert result.field == "token_endpoint" and "a loopback address" in result.message
    assert api_standin.requests == []
