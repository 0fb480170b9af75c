"""Flow tokens (staff pages) and the HTTP API that starts and reads runs with them."""

import hashlib
import json
import logging
import re
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from flows_app.api_auth import create_token
from flows_app.models import FlowToken, FlowVersion, Run
from flows_app.redaction import MASK
from flows_app.services import create_flow, publish_flow, save_draft
from tests.flow_helpers import connection, phone_provider, run_steps, step
from tests.run_records import (
    SECRET_EXPECTED,
    SECRET_PIN,
    cancelled_waiting_run,
    masked_run,
    plan_run,
    waiting_run,
)
from vault_app.models import set_provider

TOKEN = re.compile(r"slt_[A-Za-z0-9_-]{43}")
SMS = step(
    "text",
    "SEND_SMS",
    to="{{ context.user.phone_number }}",
    message="Hi {{ context.user.name }}, your code is {{ vars.code }}",
)
INPUT = {"context": {"user": {"name": "Ada", "phone_number": "+14155550123"}}, "vars": {"code": 7}}


def definition(*steps):
    return {"schema_version": 1, "actions": list(steps)}


@pytest.fixture
def phone(db):
    """A phone provider, which a flow that sends texts needs to be published."""
    credentials = {
        "account_sid": "AC" + "0" * 32,
        "auth_token": "t" * 32,
        "from_number": "+15550100",
    }
    set_provider("phone", connection("twilio", "Twilio account", credentials))


@pytest.fixture
def flow(phone):
    flow = create_flow(name="Welcome text", definition=definition(SMS))
    publish_flow(flow)
    return flow


@pytest.fixture
def other_flow(phone):
    flow = create_flow(name="Other flow", definition=definition(SMS))
    publish_flow(flow)
    return flow


@pytest.fixture
def token(flow, admin_user):
    return create_token(flow, name="Signup service", user=admin_user)[1]


@pytest.fixture
def api():
    return Client()


def call(client, method, url, token=None, body=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(url, headers=headers, **kwargs)


def start(client, flow, token=None, body=INPUT):
    return call(client, "post", f"/api/flows/{flow.pk}/runs", token, body)


def database_rows() -> str:
    """Every row of every table, as text."""
    rows = []
    with db_connection.cursor() as cursor:
        for table in db_connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {db_connection.ops.quote_name(table)}")
            rows += [repr(row) for row in cursor.fetchall()]
    return "\n".join(rows)


# The token pages


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(admin_client, flow):
    response = admin_client.post(f"/flows/{flow.pk}/tokens/", {"name": "Signup service"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [token] = set(TOKEN.findall(response.content.decode()))
    record = FlowToken.objects.get()
    assert (record.flow, record.name, record.created_by.email) == (
        flow,
        "Signup service",
        "ada@example.com",
    )
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert record.prefix == token[:12] and record.active
    assert token not in database_rows()
    assert token[4:] not in database_rows()
    page = admin_client.get(f"/flows/{flow.pk}/tokens/").content.decode()
    assert token not in page and f"{record.prefix}…" in page
    assert not TOKEN.search(page)


def test_each_token_is_different(admin_client, flow):
    for _ in range(3):
        admin_client.post(f"/flows/{flow.pk}/tokens/", {"name": "Client"})
    assert len(set(FlowToken.objects.values_list("token_hash", flat=True))) == 3


def test_a_token_needs_a_name(admin_client, flow):
    response = admin_client.post(f"/flows/{flow.pk}/tokens/", {"name": "  "})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not TOKEN.search(response.content.decode())
    assert not FlowToken.objects.exists()


def test_the_token_list_shows_who_made_each_and_how_it_is_used(
    admin_client, flow, token, admin_user, django_assert_max_num_queries
):
    for name in ("Nightly import", "Reports", "Backfill"):
        create_token(flow, name=name, user=admin_user)
    start(Client(), flow, token)
    with django_assert_max_num_queries(4):  # session, user, flow, tokens with their creators
        page = admin_client.get(f"/flows/{flow.pk}/tokens/").content.decode()
    assert "Signup service" in page and "Nightly import" in page
    assert page.count("by ada@example.com") == 4
    assert page.count(">Never<") == 3 and page.count(">Active<") == 4


def test_revoking_asks_first_then_the_token_stops_working(admin_client, api, flow, token):
    record = FlowToken.objects.get()
    url = f"/flows/{flow.pk}/tokens/{record.pk}/revoke/"
    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and b"Revoke Signup service?" in confirm.content
    assert FlowToken.objects.get().active
    response = admin_client.post(url, follow=True)
    assert response.redirect_chain == [(f"/flows/{flow.pk}/tokens/", 302)]
    assert b"Revoked Signup service" in response.content and b"Revoked</span>" in response.content
    assert not FlowToken.objects.get().active
    assert start(api, flow, token).status_code == 401
    assert not Run.objects.exists()
    again = admin_client.post(url, follow=True)
    assert b"was already revoked" in again.content


def test_a_token_is_revoked_only_through_its_own_flow(admin_client, flow, other_flow, token):
    record = FlowToken.objects.get()
    response = admin_client.post(f"/flows/{other_flow.pk}/tokens/{record.pk}/revoke/")
    assert response.status_code == 404
    assert FlowToken.objects.get().active


def token_urls(flow, record):
    return [
        ("get", f"/flows/{flow.pk}/tokens/"),
        ("post", f"/flows/{flow.pk}/tokens/"),
        ("get", f"/flows/{flow.pk}/tokens/{record.pk}/revoke/"),
        ("post", f"/flows/{flow.pk}/tokens/{record.pk}/revoke/"),
    ]


@pytest.mark.parametrize("persona", ["editor_client", "viewer_client"])
def test_non_staff_get_403_on_every_token_url(request, persona, flow, token):
    client = request.getfixturevalue(persona)
    for method, url in token_urls(flow, FlowToken.objects.get()):
        response = getattr(client, method)(url, {"name": "Mine"} if method == "post" else None)
        assert response.status_code == 403, (method, url)
        assert not TOKEN.search(response.content.decode())
    assert FlowToken.objects.count() == 1 and FlowToken.objects.get().active


def test_anonymous_visitors_are_sent_to_sign_in(client, flow, token):
    for method, url in token_urls(flow, FlowToken.objects.get()):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert FlowToken.objects.count() == 1 and FlowToken.objects.get().active


def test_every_token_form_needs_the_csrf_token(csrf_admin_client, flow, token):
    for method, url in token_urls(flow, FlowToken.objects.get()):
        if method == "post":
            assert csrf_admin_client.post(url, {"name": "Forged"}).status_code == 403, url
    assert FlowToken.objects.count() == 1 and FlowToken.objects.get().active


def test_the_token_forms_carry_the_csrf_token(admin_client, flow, token):
    for _method, url in token_urls(flow, FlowToken.objects.get())[::2]:
        page = admin_client.get(url).content.decode()
        assert page.count("<form") == page.count('name="csrfmiddlewaretoken"'), url


# Who may call the API


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer slt_" + "x" * 43,
        "Bearer " + "slt_" + "y" * 500,
        "Token {token}",
        "Bearer {token}x",
    ],
)
def test_a_missing_or_unknown_token_gets_401_and_runs_nothing(api, flow, token, authorization):
    headers = {"Authorization": authorization.format(token=token)} if authorization else {}
    response = api.post(
        f"/api/flows/{flow.pk}/runs", INPUT, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized" and response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert token not in response.content.decode()
    assert not Run.objects.exists()
    assert FlowToken.objects.get().last_used_at is None


def test_a_revoked_token_gets_401_and_runs_nothing(api, flow, token):
    FlowToken.objects.update(revoked_at=timezone.now())
    response = start(api, flow, token)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert not Run.objects.exists()


def test_the_token_of_another_flow_gets_403_and_runs_nothing(api, flow, other_flow, token):
    response = start(api, other_flow, token)
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert not Run.objects.exists()


def test_without_a_token_ids_are_not_revealed(api, flow):
    run = Run.objects.create(flow=flow, definition=flow.draft, trigger=Run.Trigger.MANUAL)
    for url in (f"/api/flows/{flow.pk}/runs", "/api/flows/99999/runs"):
        assert call(api, "post", url, body=INPUT).status_code == 401
    for url in (f"/api/runs/{run.pk}", "/api/runs/99999"):
        assert call(api, "get", url).status_code == 401


def test_a_session_is_not_a_token(admin_client, flow):
    assert start(admin_client, flow).status_code == 401
    assert not Run.objects.exists()


def test_a_token_in_the_query_string_is_ignored(api, flow, token):
    response = api.post(
        f"/api/flows/{flow.pk}/runs?access_token={token}", INPUT, "application/json"
    )
    assert response.status_code == 401
    assert not Run.objects.exists()


# Starting and reading runs


def test_a_good_call_runs_the_published_version_and_the_run_can_be_read(
    api, flow, token, twilio_standin, django_capture_on_commit_callbacks
):
    phone_provider(twilio_standin)
    save_draft(flow, definition(step("text", "SEND_SMS", to="+14155550100", message="Draft")))
    with django_capture_on_commit_callbacks(execute=True):
        response = start(api, flow, token)
    assert response.status_code == 202, response.content
    started = response.json()
    run = Run.objects.get()
    assert started == {
        "id": run.pk,
        "status": "queued",
        "url": f"http://testserver/runs/{run.pk}/",
        "api_url": f"http://testserver/api/runs/{run.pk}",
        "flow": {"id": flow.pk, "name": "Welcome text"},
        "version": 1,
    }
    assert response["Location"] == started["api_url"]
    assert (run.trigger, run.version.number, run.input) == ("api", 1, INPUT)
    [text] = twilio_standin.messages
    assert (text["to"], text["body"]) == ("+14155550123", "Hi Ada, your code is 7")

    read = call(api, "get", f"/api/runs/{run.pk}", token)
    assert read.status_code == 200
    record = read.json()
    assert record["status"] == "succeeded" and record["final"] is True
    assert (record["id"], record["flow"], record["version"]) == (run.pk, started["flow"], 1)
    assert (record["trigger"], record["input"], record["error"]) == ("api", INPUT, "")
    assert record["ended_at"] == record["finished_at"] and record["finished_at"].endswith("Z")
    assert record["created_at"] <= record["started_at"] <= record["updated_at"]
    assert record["url"] == started["url"] and record["api_url"] == started["api_url"]
    [sms] = record["steps"]
    assert (sms["step_id"], sms["action_type"], sms["status"]) == (
        "text",
        "AUTH0/SEND_SMS",
        "succeeded",
    )
    assert sms["output"] == {"success": True}
    assert sms["inputs"]["message"] == "Hi Ada, your code is 7"
    assert sms["duration_ms"] is not None and sms["error"] == "" and sms["warnings"] == []
    assert {"started_at", "finished_at", "error_body", "http_status"} <= set(sms)
    assert FlowToken.objects.get().last_used_at is not None


def test_starting_a_run_reads_neither_the_draft_nor_the_editor_s_history(api, flow, token):
    """Starting a run costs the same however long a flow's editing history grew."""
    for n in range(30):
        save_draft(flow, definition(step(f"text{n}", "SEND_SMS", to="+14155550123", message="x")))
    start(api, flow, token)  # a long-running server has the published version at hand
    with CaptureQueriesContext(db_connection) as captured:
        response = start(api, flow, token)
    assert response.status_code == 202
    assert len(captured) == 2  # the token with its flow's name and latest version; the run
    read = " ".join(query["sql"] for query in captured)
    for column in ("draft", "undo", "redo", "test_data"):
        assert f'"flows_app_flow"."{column}"' not in read


def test_reading_a_run_reads_neither_the_flow_s_draft_nor_the_version_s_definition(
    api, flow, token
):
    run_id = start(api, flow, token).json()["id"]
    with CaptureQueriesContext(db_connection) as captured:
        response = call(api, "get", f"/api/runs/{run_id}", token)
    assert response.status_code == 200
    assert response.json()["flow"] == {"id": flow.pk, "name": "Welcome text"}
    assert response.json()["version"] == 1
    read = " ".join(query["sql"] for query in captured)
    for column in ('"flows_app_flow"."draft"', '"flows_app_flow"."undo"', 'version"."definition"'):
        assert column not in read


def test_a_run_of_another_flow_cannot_be_read(api, flow, other_flow, token):
    run = Run.objects.create(flow=other_flow, definition=other_flow.draft, trigger="manual")
    response = call(api, "get", f"/api/runs/{run.pk}", token)
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert "input" not in response.json()


def test_unknown_ids_are_404_for_a_valid_token(api, flow, token):
    for method, url in (("post", "/api/flows/99999/runs"), ("get", "/api/runs/99999")):
        response = call(api, method, url, token, INPUT if method == "post" else None)
        assert response.status_code == 404 and response.json()["error"] == "not_found", url
    assert not Run.objects.exists()


def test_an_unpublished_flow_is_409(api, db, admin_user):
    draft_only = create_flow(name="Draft only", definition=definition(SMS))
    token = create_token(draft_only, name="Early client", user=admin_user)[1]
    response = start(api, draft_only, token)
    assert response.status_code == 409
    assert response.json()["error"] == "not_published"
    assert "Draft only" in response.json()["message"]
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ("null", "must be a JSON object"),
        ('{"context": NaN}', "not valid JSON"),
        ('{"context": "alice"}', "context must be a JSON object"),
        ('{"user": {"user_id": "auth0|1"}}', "Unknown keys ['user']"),
        ('{"vars": {"x": "a\\u0000b"}}', "NUL"),
        (b"\xff\xfe{}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "The body nests objects and lists more than 32 deep."),
        ('{"vars": ' + '{"a": ' * 500 + "1" + "}" * 501, "nests objects and lists more than 32"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(api, flow, token, body, message):
    response = start(api, flow, token, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"
    assert message in response.json()["message"]
    assert not Run.objects.exists()


def test_an_empty_body_is_an_empty_input(api, flow, token):
    response = start(api, flow, token, body="")
    assert response.status_code == 202
    assert Run.objects.get().input == {}


def test_a_body_over_one_megabyte_is_413(api, flow, token):
    big = json.dumps({"vars": {"blob": "x" * (1024 * 1024)}})
    response = start(api, flow, token, big)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert not Run.objects.exists()


def test_a_published_version_with_problems_is_422(api, flow, token):
    broken = definition(step("text", "SEND_SMS", message="No recipient"), {"id": "x"})
    FlowVersion.objects.create(flow=flow, number=2, definition=broken)
    response = start(api, flow, token)
    assert response.status_code == 422
    data = response.json()
    assert data["error"] == "invalid_flow" and data["problems"]
    assert {"message", "step_id", "input"} == set(data["problems"][0])
    assert not Run.objects.exists()


def test_other_methods_are_405_json(api, flow, token):
    run = Run.objects.create(flow=flow, definition=flow.draft, trigger=Run.Trigger.MANUAL)
    for method, url, allowed in (
        ("get", f"/api/flows/{flow.pk}/runs", "POST"),
        ("put", f"/api/flows/{flow.pk}/runs", "POST"),
        ("post", f"/api/runs/{run.pk}", "GET"),
        ("delete", f"/api/runs/{run.pk}", "GET"),
    ):
        response = call(api, method, url, token)
        assert response.status_code == 405, (method, url)
        assert response.json()["error"] == "method_not_allowed"
        assert response["Allow"] == allowed
    assert Run.objects.count() == 1


def test_no_log_line_and_no_answer_carries_the_token(api, flow, other_flow, token, caplog):
    caplog.set_level(logging.DEBUG)
    answers = [
        start(api, flow, token),
        start(api, other_flow, token),
        start(api, flow, token, "{bad"),
        start(api, flow, token + "x"),
        call(api, "get", f"/api/runs/{Run.objects.get().pk}", token),
        call(api, "get", f"/api/flows/{flow.pk}/runs", token),
    ]
    assert [a.status_code for a in answers] == [202, 403, 400, 401, 200, 405]
    for answer in answers:
        assert token[4:] not in answer.content.decode()
        assert token[4:] not in str(answer.headers)
    assert "started over the API" in caplog.text
    assert token[4:] not in caplog.text


# Reading the path a run took


def read_run(api, run: Run, admin_user) -> dict:
    token = create_token(run.flow, name="Reader", user=admin_user)[1]
    response = call(api, "get", f"/api/runs/{run.pk}", token)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_run_read_over_the_api_has_each_steps_status_branch_and_variables(api, admin_user):
    record = read_run(api, plan_run(), admin_user)
    assert record["status"] == "succeeded" and record["resume_at"] is None
    steps = {step["step_id"]: step for step in record["steps"]}
    assert [step["step_id"] for step in record["steps"]] == [
        "get_user", "check_plan", "remember", "check_region", "eu_mail", "mark", "downgrade",
        "tell", "answer",
    ]  # fmt: skip
    assert [step["position"] for step in record["steps"]] == list(range(9))
    assert {s: steps[s]["status"] for s in ("eu_mail", "downgrade", "tell")} == dict.fromkeys(
        ("eu_mail", "downgrade", "tell"), "skipped"
    )
    assert steps["check_plan"]["output"] == {"result": True}
    assert steps["check_plan"]["detail"]["branch"] == "then"
    assert steps["check_region"]["detail"]["checks"][0] == {
        "operator": "EQUALS",
        "operands": [None, "eu"],
        "defined": [False, True],
        "result": False,
    }
    assert steps["remember"]["vars"] == {"source": "signup", "tier": "gold"}
    assert steps["get_user"]["vars"] is None and steps["eu_mail"]["detail"] is None
    keys = {"inputs", "output", "error", "error_body", "http_status", "warnings", "duration_ms"}
    assert keys <= set(steps["get_user"])


def test_a_waiting_run_over_the_api_says_when_it_resumes(api, admin_user):
    resume_at = timezone.now() + timedelta(hours=2)
    record = read_run(api, waiting_run(resume_at), admin_user)
    assert record["status"] == "waiting" and record["final"] is False
    # JSON keeps milliseconds
    assert abs(parse_datetime(record["resume_at"]) - resume_at) < timedelta(milliseconds=1)
    pause = record["steps"][1]
    assert pause["status"] == "waiting"
    assert pause["detail"] == {"seconds": 86400, "until": resume_at.isoformat()}

    cancelled = read_run(api, cancelled_waiting_run(resume_at), admin_user)
    assert cancelled["status"] == "cancelled" and cancelled["resume_at"] is None
    assert cancelled["steps"][1]["status"] == "cancelled"


def test_a_masked_condition_over_the_api_hides_its_values(api, admin_user):
    response = read_run(api, masked_run(), admin_user)
    text = json.dumps(response)
    assert SECRET_PIN not in text and SECRET_EXPECTED not in text
    check_pin = response["steps"][0]
    assert check_pin["output"] == MASK and check_pin["detail"]["branch"] == "then"
    assert check_pin["detail"]["checks"][0]["operands"] == [MASK, MASK]
    assert check_pin["inputs"]["if"]["operands"][0]["operands"] == [MASK, MASK]


def test_an_allowed_failure_over_the_api_says_it_was_allowed(api, admin_user):
    def failing(step_id, **switches):
        payload = {"payload": "{{ functions.toArray(1) }}"}
        return {
            "id": step_id,
            "type": "FLOW",
            "action": "RETURN_JSON",
            "params": payload,
            **switches,
        }

    allowed = run_steps(failing("lookup", allow_failure=True), failing("last"))
    record = read_run(api, allowed, admin_user)
    assert record["status"] == "failed"
    lookup, last = record["steps"]
    assert lookup["status"] == "failed" and lookup["allowed_failure"] is True
    assert last["status"] == "failed" and last["allowed_failure"] is False

    passed = read_run(api, run_steps(failing("lookup", allow_failure=True)), admin_user)
    assert passed["status"] == "succeeded"
    assert passed["steps"][0]["allowed_failure"] is True
    assert read_run(api, plan_run(), admin_user)["steps"][0]["allowed_failure"] is False
