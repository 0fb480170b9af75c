"""Flows of every action, executed by the engine against the vendor stand-ins."""

import email.policy
import json
from email import message_from_bytes

import pytest
from django.core.management import call_command

from flows_app.engine import execute
from flows_app.models import Run, StepRun
from tests.flow_helpers import (
    SPEC_PATH,
    auth0_connection,
    email_provider,
    phone_provider,
    run_steps,
    step,
    user_input,
)

DATABASE = "Username-Password-Authentication"
HOSTILE_NAME = 'Bob", "app_metadata": {"admin": true}, "x": "} {{ 7 * 7 }} </p><script>'


@pytest.fixture(params=["stand-in", "sandbox"])
def any_tenant(request):
    """An Auth0 connection to the stand-in, then one to Sluice's sandbox tenant: Auth0 steps
    must run the same against both."""
    if request.param == "stand-in":
        request.getfixturevalue("db")
        return auth0_connection(request.getfixturevalue("auth0_standin"))
    request.applymarker(pytest.mark.django_db(transaction=True))  # the sandbox reads it
    return request.getfixturevalue("sandbox_connection")


def steps_of(run):
    return {s.step_id: s for s in run.steps.all()}


def create_step(tenant, **payload):
    return step(
        "create",
        "CREATE_USER",
        connection_id=tenant.pk,
        payload={
            "connection": DATABASE,
            "email": "{{ context.user.email }}",
            "password": "Pa55word!{{ context.user.user_id }}",
            "name": "{{ context.user.name }}",
            **payload,
        },
    )


def test_a_flow_of_every_auth0_action_runs_and_records_each_step(any_tenant):
    tenant = any_tenant
    run = run_steps(
        create_step(tenant, user_metadata={"plan": "{{ fields.plan }}"}),
        step(
            "get_user", "GET_USER", connection_id=tenant.pk, user_id="{{ actions.create.user_id }}"
        ),
        step(
            "update",
            "UPDATE_USER",
            connection_id=tenant.pk,
            user_id="{{ actions.get_user.user_id }}",
            changes={"app_metadata": {"plan": "{{ fields.plan }}", "logins": "{{ vars.n }}"}},
        ),
        step(
            "custom",
            "SEND_REQUEST",
            connection_id=tenant.pk,
            method="GET",
            pathname="/api/v2/users/{{ functions.encodeURIComponent(actions.create.user_id) }}",
            params={"fields": "email,app_metadata"},
        ),
        input={**user_input(name="Ada"), "fields": {"plan": "gold"}, "vars": {"n": 3}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    records = steps_of(run)
    user_id = records["create"].output["user_id"]
    assert records["create"].http_status == 201
    assert records["get_user"].output["email"] == "ada@example.com"
    assert records["update"].output["app_metadata"] == {"plan": "gold", "logins": 3}
    custom = records["custom"].output
    assert custom["status"] == 200 and custom["success"] is True
    assert custom["body"]["app_metadata"]["plan"] == "gold"
    assert custom["body"]["email"] == "ada@example.com"  # the encoded path reached the user
    assert records["custom"].inputs["pathname"] == f"/api/v2/users/{user_id.replace('|', '%7C')}"
    assert all(s.duration_ms is not None and s.finished_at for s in records.values())
    assert [s.position for s in run.steps.all()] == [0, 1, 2, 3]


def test_the_spec_encode_uri_component_example_works_as_written(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    run_steps(create_step(tenant), input=user_input(name="Ada"))
    created = Run.objects.get().steps.get().output["user_id"]
    run = run_steps(
        step("custom", "SEND_REQUEST", connection_id=tenant.pk, method="GET", pathname=SPEC_PATH),
        input=user_input(user_id=created),
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert auth0_standin.requests[-1].path == "/api/v2/users/" + created.replace("|", "%7C")


def test_hostile_values_stay_values_in_json_bodies(any_tenant):
    run = run_steps(
        create_step(any_tenant, user_metadata={"nickname": "{{ context.user.name }}"}),
        input=user_input(name=HOSTILE_NAME),
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    created = run.steps.get().output  # the user as the tenant made it from the body it got
    assert created["name"] == HOSTILE_NAME
    assert created["user_metadata"] == {"nickname": HOSTILE_NAME}
    assert "app_metadata" not in created


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example.com/api/v2/users",
        "//evil.example.com/api/v2/users",
        "/api/v2/../../oauth/token",
        "/api/v2/%2e%2e/%2e%2e/x",
        "/api/v2\\..\\x",
        "/userinfo",
        "/api/v2/users?x=1",
        "api/v2/users",
    ],
)
def test_a_path_that_would_leave_the_tenant_fails_the_step(db, auth0_standin, path):
    """The path comes from the input: as written in the flow, it would be a problem already."""
    tenant = auth0_connection(auth0_standin)
    run = run_steps(
        step(
            "custom",
            "SEND_REQUEST",
            connection_id=tenant.pk,
            method="GET",
            pathname="{{ context.path }}",
        ),
        input={"context": {"path": path}},
    )
    assert run.status == Run.Status.FAILED
    assert run.error.startswith("Step custom (Custom API request) failed: ")
    assert not auth0_standin.requests


def test_auth0_errors_keep_auth0s_body(any_tenant):
    tenant = any_tenant
    run = run_steps(
        step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|does-not-exist")
    )
    record = run.steps.get()
    assert run.status == Run.Status.FAILED and record.status == StepRun.Status.FAILED
    assert record.http_status == 404
    assert record.error_body["errorCode"] == "inexistent_user"
    assert "The user does not exist." in run.error


def test_a_thousand_calls_cost_one_token(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    get = step(
        "g",
        "SEND_REQUEST",
        connection_id=tenant.pk,
        method="GET",
        pathname="/api/v2/users",
        params={"q": "x"},
    )
    for _ in range(5):
        assert run_steps(get, {**get, "id": "h"}).status == Run.Status.SUCCEEDED
    assert len(auth0_standin.requests_to("/oauth/token")) == 1


def test_email_goes_through_the_email_provider(db, smtp_standin):
    email_provider(smtp_standin)
    run = run_steps(
        step(
            "mail",
            "SEND_EMAIL",
            to="{{ context.user.email }}",
            subject="Welcome {{ custom_vars.first }}",
            body="<p>Hello {{ custom_vars.first }}, your plan is <b>{{ fields.plan }}</b>.</p>",
            custom_vars={"first": "{{ context.user.name }}"},
        ),
        input={**user_input(name=HOSTILE_NAME), "fields": {"plan": "gold"}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.steps.get().output == {"success": True}
    [received] = smtp_standin.messages
    message = (
        message_from_bytes(received.raw, policy=email.policy.default)
        if hasattr(received, "raw")
        else received.message
    )
    assert received.rcpt_tos == ["ada@example.com"]
    assert message["Subject"] == f"Welcome {HOSTILE_NAME}".replace("\n", " ")
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>gold</b>" in html
    assert message.get_body(("plain",)).get_content().strip()


def test_sms_and_calls_go_through_the_phone_provider(db, twilio_standin):
    phone_provider(twilio_standin)
    run = run_steps(
        step(
            "text",
            "SEND_SMS",
            to="{{ context.user.phone_number }}",
            message="Hi {{ custom_vars.who }}, code {{ vars.code }}",
            custom_vars={"who": "{{ context.user.name }}"},
        ),
        step(
            "call",
            "MAKE_CALL",
            to="{{ context.user.phone_number }}",
            message="Your code is {{ vars.code }} </Say><Dial>+19005550100</Dial>",
        ),
        input={**user_input(name="Ada", phone_number="+14155550123"), "vars": {"code": 4821}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert [s.output for s in run.steps.all()] == [{"success": True}, {"success": True}]
    [text] = twilio_standin.messages
    assert (text["to"], text["from"], text["body"]) == (
        "+14155550123",
        twilio_standin.from_number,
        "Hi Ada, code 4821",
    )
    [call] = twilio_standin.calls
    assert "<Dial>" not in call["twiml"] and "&lt;Dial&gt;" in call["twiml"]


@pytest.mark.parametrize(
    "action, params, provider",
    [
        ("SEND_EMAIL", {"to": "a@b.c", "subject": "s", "body": "b"}, "email provider"),
        ("SEND_SMS", {"to": "+14155550100", "message": "m"}, "phone provider"),
        ("MAKE_CALL", {"to": "+14155550100", "message": "m"}, "phone provider"),
    ],
)
def test_notifications_without_a_provider_fail_clearly(db, action, params, provider):
    run = run_steps(step("n", action, **params))
    assert run.status == Run.Status.FAILED
    assert f"No {provider} is configured. An admin chooses one on the Vault page." in run.error


def test_undefined_variables_render_empty_with_a_warning(db, twilio_standin):
    phone_provider(twilio_standin)
    run = run_steps(
        step("text", "SEND_SMS", to="+14155550123", message="Hi {{ context.user.nickname }}!"),
        input=user_input(),
    )
    record = run.steps.get()
    assert run.status == Run.Status.SUCCEEDED
    assert record.inputs["message"] == "Hi !"
    assert any("context.user.nickname" in w for w in record.warnings)


def test_a_template_that_fails_at_run_time_fails_the_step_with_its_line(db, twilio_standin):
    phone_provider(twilio_standin)
    run = run_steps(
        step(
            "text",
            "SEND_SMS",
            to="+14155550123",
            message="Hi\n{{ vars.total | divided_by: vars.count }}",
        ),
        input={"vars": {"total": 10, "count": 0}},
    )
    assert run.status == Run.Status.FAILED
    assert "Template error in Message:" in run.error and "line 2" in run.error
    assert not twilio_standin.messages


def test_a_flow_with_a_broken_template_does_not_start(db):
    from flows_app.services import InvalidFlow, create_flow, create_run

    flow = create_flow(
        name="Broken",
        definition={
            "schema_version": 1,
            "actions": [
                step("text", "SEND_SMS", to="+14155550123", message="Hi\n{{ context.user. }}")
            ],
        },
    )
    with pytest.raises(InvalidFlow, match=r"text · Message: .*\(line 2, column \d+\)"):
        create_run(flow, trigger=Run.Trigger.TEST, draft=True)
    assert not Run.objects.exists()


def test_secrets_never_reach_the_run_record(db, auth0_standin, smtp_standin):
    tenant = auth0_connection(auth0_standin)
    mail = email_provider(smtp_standin)
    leak = f"secret {auth0_standin.client_secret} and {smtp_standin.password}"
    auth0_standin.force(
        "/api/v2/clients",
        400,
        {"statusCode": 400, "error": "Bad Request", "message": leak, "errorCode": "invalid_body"},
    )
    run = run_steps(
        step("mail", "SEND_EMAIL", to="a@example.com", subject=leak, body=leak),
        step(
            "custom",
            "SEND_REQUEST",
            connection_id=tenant.pk,
            method="GET",
            pathname="/api/v2/clients",
            headers={"X-Note": leak},
        ),
    )
    assert run.status == Run.Status.FAILED
    record_text = (
        json.dumps([[s.inputs, s.output, s.error, s.error_body] for s in run.steps.all()])
        + run.error
    )
    assert "[redacted]" in record_text
    for secret in (auth0_standin.client_secret, smtp_standin.password):
        assert secret not in record_text
    assert mail.pk


def test_an_interrupted_run_resumes_without_repeating_side_effects(
    db, auth0_standin, twilio_standin, monkeypatch
):
    tenant = auth0_connection(auth0_standin)
    phone_provider(twilio_standin)
    from flows_app.actions import notifications

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("the worker died")

    monkeypatch.setattr(notifications, "send_sms", crash)
    steps = (
        create_step(tenant),
        step("text", "SEND_SMS", to="+14155550123", message="Welcome"),
        step(
            "get_user", "GET_USER", connection_id=tenant.pk, user_id="{{ actions.create.user_id }}"
        ),
    )
    with pytest.raises(KeyboardInterrupt):
        run_steps(*steps, input=user_input(name="Ada"))
    run = Run.objects.get()
    assert run.status == Run.Status.RUNNING
    assert {s.step_id: s.status for s in run.steps.all()} == {
        "create": "succeeded",
        "text": "running",
    }
    monkeypatch.undo()
    execute(run)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.attempts == 2
    assert len(auth0_standin.requests_to("/api/v2/users", method="POST")) == 1
    assert len(twilio_standin.messages) == 1
    assert steps_of(run)["get_user"].output["email"] == "ada@example.com"


def test_run_flow_prints_each_step(db, auth0_standin, tmp_path, capsys):
    tenant = auth0_connection(auth0_standin)
    from flows_app.services import create_flow

    create_flow(name="Onboard", definition={"schema_version": 1, "actions": [create_step(tenant)]})
    data = tmp_path / "input.json"
    data.write_text(json.dumps(user_input(name="Ada")))
    call_command("run_flow", "Onboard", "--input", str(data))
    out = capsys.readouterr().out
    assert "of Onboard (the draft)" in out
    assert "create" in out and "succeeded" in out and " ms" in out
    assert '"email": "ada@example.com"' in out
    assert out.strip().endswith("succeeded")


def test_run_flow_exits_non_zero_when_a_step_fails(db, auth0_standin, capsys):
    tenant = auth0_connection(auth0_standin)
    from flows_app.services import create_flow

    create_flow(
        name="Broken",
        definition={
            "schema_version": 1,
            "actions": [step("g", "GET_USER", connection_id=tenant.pk, user_id="nobody")],
        },
    )
    with pytest.raises(SystemExit) as exited:
        call_command("run_flow", "Broken")
    assert exited.value.code == 1
    assert "error: 404" in capsys.readouterr().out


def test_a_new_users_password_is_not_kept_in_the_run_record(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    run = run_steps(create_step(tenant), input=user_input(name="Ada"))
    record = run.steps.get()
    assert run.status == Run.Status.SUCCEEDED
    assert record.inputs["payload"]["password"] == "[redacted]"
    assert record.inputs["payload"]["email"] == "ada@example.com"
    [request] = auth0_standin.requests_to("/api/v2/users", method="POST")
    assert request.body["password"] == "Pa55word!auth0|123"


def test_a_run_reads_the_connections_its_steps_name_and_the_providers(
    db, auth0_standin, twilio_standin
):
    from flows_app.redaction import run_connections

    tenant = auth0_connection(auth0_standin)
    other = auth0_connection(auth0_standin, name="Unused tenant")
    phone = phone_provider(twilio_standin)
    named = [
        step("a", "GET_USER", connection_id=tenant.pk, user_id="auth0|1"),
        step("b", "GET_USER", connection_id=str(tenant.pk), user_id="auth0|1"),
        step("c", "GET_USER", connection_id="9" * 30, user_id="auth0|1"),  # no such id
    ]
    found = run_connections({"schema_version": 1, "actions": named})
    assert found == {tenant.pk: tenant, phone.pk: phone}
    assert other.pk not in found
    assert found[tenant.pk].secrets() == tenant.secrets()
    assert run_connections({"schema_version": 1, "actions": []}) == {phone.pk: phone}


def test_runs_one_after_another_reuse_the_connection_to_the_tenant(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    read = step("read", "GET_USER", connection_id=tenant.pk, user_id="auth0|1")
    runs = [run_steps(read) for _ in range(3)]
    assert [run.status for run in runs] == [Run.Status.FAILED] * 3  # no such user: answered
    reads = auth0_standin.requests_to("/api/v2/users/auth0%7C1")
    assert len(reads) == 3
    assert len({request.peer for request in reads}) == 1  # over one connection


def test_what_a_vendor_sets_as_a_cookie_never_goes_with_a_later_request(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    cookie = {"Set-Cookie": "session=run-one; Path=/"}
    auth0_standin.force("/api/v2/users/auth0%7C1", 200, {"user_id": "auth0|1"}, headers=cookie)
    read = step("read", "GET_USER", connection_id=tenant.pk, user_id="auth0|1")
    assert run_steps(read).status == Run.Status.SUCCEEDED
    run_steps(read)
    reads = auth0_standin.requests_to("/api/v2/users/auth0%7C1")
    assert len(reads) == 2 and len({request.peer for request in reads}) == 1
    assert reads[-1].header("cookie") is None
