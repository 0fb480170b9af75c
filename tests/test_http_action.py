"""The HTTP request step through the engine, against a recording stand-in: how the request
is built from every param, how the answer becomes the output, each vault setup, and clear
failures for bad input."""

import base64
import json
from datetime import timedelta

import pytest

from flows_app.models import Run
from flows_app.services import InvalidFlow
from tests.flow_helpers import connection, run_steps
from tests.http_helpers import API_KEY, BASIC_PASSWORD, BEARER_TOKEN, http_connection, http_step
from vault_app.clients import token_cache

RESULT = {"id": "result", "type": "FLOW", "action": "RETURN_JSON"}


@pytest.fixture(autouse=True)
def _no_memo_between_tests():
    token_cache.forget_cached_tokens()
    yield
    token_cache.forget_cached_tokens()


def records_text(run: Run) -> str:
    return json.dumps(
        [[r.inputs, r.output, r.error, r.error_body] for r in run.steps.all()] + [run.error]
    )


def test_a_post_carries_every_param_and_its_json_answer_feeds_a_later_step(db, api_standin):
    api_standin.answer("POST", "/invites/verify", 200, {"valid": True, "plan": "pro"})
    run = run_steps(
        http_step(
            url=api_standin.url("/invites/verify?src=form"),
            method="POST",
            content_type="JSON",
            headers={"X-Source": "forms", "X-Count": 3, "X-Gone": None},
            params={"tenant": "{{ context.tenant.name }}", "v": 2, "skip": None},
            payload={"email": "{{ fields.email }}", "code": "{{ fields.code }}", "tags": ["é"]},
        ),
        {**RESULT, "params": {"payload": {"valid": "{{ actions.call.body.valid }}"}}},
        input={
            "context": {"tenant": {"name": "Acme & Co"}},
            "fields": {"email": "sam@example.com", "code": 4821},
        },
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    [sent] = api_standin.requests
    assert sent.method == "POST"
    assert sent.target == "/invites/verify?src=form&tenant=Acme%20%26%20Co&v=2"
    assert sent.header("x-source") == "forms" and sent.header("x-count") == "3"
    assert sent.header("x-gone") is None
    assert sent.header("content-type") == "application/json"
    assert sent.raw.decode() == '{"email":"sam@example.com","code":4821,"tags":["é"]}'
    output = run.steps.get(step_id="call").output
    assert output["status"] == 200 and output["success"] is True
    assert output["body"] == {"valid": True, "plan": "pro"}
    assert output["headers"]["content-type"] == "application/json; charset=utf-8"
    assert run.result == {"valid": True}


def test_form_and_xml_bodies_are_encoded_by_content_type(db, api_standin):
    api_standin.answer("POST", "/form", 204)
    api_standin.answer("PUT", "/xml", 200, "<ok/>", content_type="application/xml")
    form = {"name": "Jane Doe", "roles": ["a", "b"], "meta": {"x": 1}, "none": None, "n": 2.0}
    run = run_steps(
        http_step("form", url=api_standin.url("/form"), content_type="FORM", payload=form),
        http_step(
            "xml",
            url=api_standin.url("/xml"),
            method="PUT",
            content_type="XML",
            payload={"user": {"name": "{{ fields.name }}"}},
        ),
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    sent_form, sent_xml = api_standin.requests
    assert sent_form.header("content-type") == "application/x-www-form-urlencoded"
    assert sent_form.raw.decode() == ("name=Jane+Doe&roles=a&roles=b&meta=%7B%22x%22%3A1%7D&n=2")
    assert sent_xml.header("content-type") == "application/xml"
    assert sent_xml.raw.decode() == (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<user>\n  <name/>\n</user>'
    )
    assert run.steps.get(step_id="form").output["body"] is None  # an empty answer
    assert run.steps.get(step_id="xml").output["body"] == "<ok/>"  # XML answers stay text


def test_text_bodies_go_verbatim_a_content_type_header_wins_and_get_sends_none(db, api_standin):
    api_standin.answer("POST", "/text", 200, "fine", content_type="text/plain; charset=utf-8")
    api_standin.answer("GET", "/read", 200, {"ok": 1})
    run = run_steps(
        http_step(
            "text",
            url=api_standin.url("/text"),
            headers={"Content-Type": "text/csv"},
            payload="a,b\n{{ fields.n }},2",
        ),
        http_step("read", url=api_standin.url("/read"), method="GET", payload={"no": "body"}),
        input={"fields": {"n": 1}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    text, read = api_standin.requests
    assert text.header("content-type") == "text/csv" and text.raw == b"a,b\n1,2"
    assert read.raw == b"" and read.header("content-type") is None
    assert run.steps.get(step_id="text").output["body"] == "fine"


def test_an_error_answer_is_an_output_with_success_false(db, api_standin):
    api_standin.answer(
        "POST",
        "/signup",
        409,
        {"error": "exists"},
        headers={"Set-Cookie": ["a=1", "b=2"], "X-Trace": "t1"},
    )
    run = run_steps(
        http_step(url=api_standin.url("/signup"), payload={}),
        {**RESULT, "params": {"payload": {"s": "{{ actions.call.status }}"}}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    record = run.steps.get(step_id="call")
    assert record.http_status == 409
    assert record.output["success"] is False and record.output["body"] == {"error": "exists"}
    assert record.output["headers"]["set-cookie"] == ["a=1", "b=2"]
    assert run.result == {"s": 409}


def test_basic_auth_from_the_step(db, api_standin):
    api_standin.answer("GET", "/me", 200, {})
    run = run_steps(
        http_step(
            url=api_standin.url("/me"),
            method="GET",
            basic={"username": "ann", "password": "{{ fields.pw }}"},
        ),
        input={"fields": {"pw": "step-password-8812"}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert api_standin.requests[0].basic_auth == ("ann", "step-password-8812")
    assert "step-password-8812" not in records_text(run)


def test_a_bearer_connection_adds_its_token_and_replaces_the_step_s_authorization(db, api_standin):
    api_standin.answer("GET", "/me", 200, {"echo": BEARER_TOKEN})
    bearer = http_connection(api_standin, "BEARER")
    run = run_steps(
        http_step(
            url=api_standin.url("/me"),
            method="GET",
            connection_id=bearer.pk,
            headers={"Authorization": "Bearer from-the-flow"},
            basic={"username": "x", "password": "y"},
        )
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert api_standin.requests[0].bearer == BEARER_TOKEN
    assert BEARER_TOKEN not in records_text(run)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({}, ("sluice", BASIC_PASSWORD)), ({"password": ""}, ("sluice", ""))],
    ids=["with-password", "username-only"],
)
def test_a_basic_auth_connection(db, api_standin, fields, expected):
    api_standin.answer("GET", "/me", 200, {})
    basic = http_connection(api_standin, "BASIC_AUTH", **fields)
    run = run_steps(http_step(url=api_standin.url("/me"), method="GET", connection_id=basic.pk))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert api_standin.requests[0].basic_auth == expected


def test_an_api_key_connection_in_a_header(db, api_standin):
    api_standin.answer("GET", "/items", 200, [])
    keyed = http_connection(api_standin, "API_KEY")
    run = run_steps(
        http_step(
            url=api_standin.url("/items"),
            method="GET",
            connection_id=keyed.pk,
            headers={"X-Api-Key": "flow-chosen"},
        )
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert api_standin.requests[0].header("x-api-key") == API_KEY
    assert api_standin.requests[0].header("authorization") is None


def test_an_api_key_connection_in_the_query_replaces_a_param_of_that_name(db, api_standin):
    api_standin.answer("GET", "/items", 200, [])
    keyed = http_connection(api_standin, "API_KEY", key_name="api_key", key_in="QUERY")
    run = run_steps(
        http_step(
            url=api_standin.url("/items?api_key=mine&page=2"),
            method="GET",
            connection_id=keyed.pk,
        )
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert api_standin.requests[0].query == {"api_key": [API_KEY], "page": ["2"]}
    assert API_KEY not in records_text(run)


def test_an_oauth_connection_fetches_one_token_and_shares_it(db, api_standin):
    api_standin.protected("GET", "/orders", {"orders": []})
    oauth = http_connection(
        api_standin,
        "OAUTH_CLIENT_CREDENTIALS",
        audience="https://api.example.com",
        resource="urn:orders",
        scope="read:orders write:orders",
    )
    call = http_step(url=api_standin.url("/orders"), method="GET", connection_id=oauth.pk)
    first = run_steps(call, {**call, "id": "again"})
    second = run_steps(call)
    assert first.status == second.status == Run.Status.SUCCEEDED, first.error or second.error
    [token_request] = api_standin.token_requests()
    assert token_request.body == {
        "grant_type": "client_credentials",
        "client_id": api_standin.client_id,
        "client_secret": api_standin.client_secret,
        "audience": "https://api.example.com",
        "resource": "urn:orders",
        "scope": "read:orders write:orders",
    }
    bearers = {r.bearer for r in api_standin.requests_to("/orders")}
    assert bearers == {api_standin.issued[0]}
    assert api_standin.issued[0] not in records_text(first)


def test_an_oauth_token_is_used_until_a_minute_before_it_expires(db, api_standin, monkeypatch):
    api_standin.protected("GET", "/orders", {})
    oauth = http_connection(api_standin, "OAUTH_CLIENT_CREDENTIALS")
    call = http_step(url=api_standin.url("/orders"), method="GET", connection_id=oauth.pk)
    started = token_cache.now()
    assert run_steps(call).status == Run.Status.SUCCEEDED
    monkeypatch.setattr(token_cache, "now", lambda: started + timedelta(minutes=58))
    assert run_steps(call).status == Run.Status.SUCCEEDED
    assert len(api_standin.token_requests()) == 1
    monkeypatch.setattr(token_cache, "now", lambda: started + timedelta(minutes=59, seconds=1))
    assert run_steps(call).status == Run.Status.SUCCEEDED
    assert len(api_standin.token_requests()) == 2


def test_a_401_fetches_a_new_token_once(db, api_standin):
    api_standin.protected("GET", "/orders", {"ok": True})
    oauth = http_connection(api_standin, "OAUTH_CLIENT_CREDENTIALS")
    call = http_step(url=api_standin.url("/orders"), method="GET", connection_id=oauth.pk)
    assert run_steps(call).status == Run.Status.SUCCEEDED
    api_standin.revoked.add(api_standin.issued[0])
    run = run_steps(call)
    assert run.steps.get().output["body"] == {"ok": True}
    assert len(api_standin.token_requests()) == 2
    api_standin.revoked.update(api_standin.issued)
    api_standin.client_secret = "rotated"  # no new token can be had now
    run = run_steps(call)
    assert run.status == Run.Status.FAILED


def test_a_refused_token_fails_the_step_with_the_token_endpoint_s_words(db, api_standin):
    api_standin.protected("GET", "/orders", {})
    oauth = http_connection(api_standin, "OAUTH_CLIENT_CREDENTIALS", client_secret="wrong-one")
    run = run_steps(http_step(url=api_standin.url("/orders"), method="GET", connection_id=oauth.pk))
    assert run.status == Run.Status.FAILED
    record = run.steps.get()
    assert "invalid_client: Client authentication failed." in record.error
    assert record.http_status == 401
    assert record.error_body == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert not api_standin.requests_to("/orders")


def test_a_connection_s_credentials_never_go_to_another_host(db, api_standin):
    bearer = http_connection(api_standin, "BEARER", hosts="api.partner.example")
    run = run_steps(http_step(url=api_standin.url("/me"), connection_id=bearer.pk))
    assert run.status == Run.Status.FAILED
    assert "sends its credentials only to api.partner.example" in run.error
    assert api_standin.requests == []


def test_a_connection_that_is_not_an_http_one_is_refused_before_running(db, api_standin):
    other = connection("twilio", "Twilio main", {"account_sid": "AC" + "0" * 32})
    with pytest.raises(InvalidFlow, match=f"The http connection {other.pk} does not exist"):
        run_steps(http_step(url=api_standin.url("/me"), connection_id=other.pk))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"url": "not a url"}, "The URL must be absolute, starting with https://"),
        ({"url": "https://exa mple.com/"}, "is not a valid host name"),
        ({"url": "https://example.com:99999/"}, "port 99999 is out of range"),
        ({"url": "ftp://example.com/x"}, "must be absolute, starting with https://"),
        ({"url": "https://user:pw@example.com/"}, "may not carry a username or password"),
        ({"url": "{{ fields.missing }}"}, "URL rendered empty"),
        ({"url": "https://example.com/", "headers": {"Bad Name": "x"}}, "not a valid header"),
        ({"url": "https://example.com/", "headers": {"Host": "evil"}}, "set by Sluice"),
        ({"url": "https://example.com/", "headers": {"X": "a\r\nY: b"}}, "line break"),
        (
            {"url": "https://example.com/", "params": {"q": "{{ fields.list }}"}},
            "URL param 'q' must be text or a number",
        ),
        (
            {"url": "https://example.com/", "content_type": "FORM", "payload": [1, 2]},
            "A form body must be an object",
        ),
        (
            {"url": "https://example.com/", "content_type": "XML", "payload": {"1bad": 1}},
            "'1bad' cannot be an XML element name",
        ),
        (
            {"url": "https://example.com/", "payload": "{{ fields.list }}", "content_type": "FORM"},
            "A form body must be an object",
        ),
    ],
)
def test_bad_input_fails_the_step_with_a_clear_message(db, api_standin, params, message):
    run = run_steps(http_step(**params), input={"fields": {"list": [1, 2]}})
    assert run.status == Run.Status.FAILED
    assert message in run.steps.get().error
    assert api_standin.requests == []


def test_an_unreachable_host_fails_the_step_and_failure_may_be_allowed(db, unused_port):
    step = http_step(url=f"http://127.0.0.1:{unused_port}/x")
    run = run_steps(
        {**step, "allow_failure": True},
        {**RESULT, "params": {"payload": {"why": "{{ actions.call.error.message }}"}}},
    )
    assert run.status == Run.Status.SUCCEEDED
    assert run.result == {"why": "Could not reach 127.0.0.1: the connection was refused."}


def test_the_basic_auth_header_is_the_rfc_7617_pair(db, api_standin):
    api_standin.answer("GET", "/me", 200, {})
    run_steps(http_step(url=api_standin.url("/me"), method="GET", basic={"username": "only"}))
    header = api_standin.requests[0].header("authorization")
    assert base64.b64decode(header.split()[1]) == b"only:"
