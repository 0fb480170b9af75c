"""Send SMS with Twilio and Make call with Twilio through the engine, against the Twilio
stand-in, with the Twilio connection the step names (not the phone provider)."""

import json

import pytest

from flows_app.models import Run
from flows_app.services import problems_of
from tests.flow_helpers import connection, phone_provider, run_steps
from tests.standins.twilio import new_sid

SERVICE = "MG" + "0123456789abcdef" * 2


@pytest.fixture
def accounts(db, twilio_standin):
    """The phone provider on the stand-in's default account, and a second account that
    only the steps name, with a number, a sender id and a Messaging Service of its own."""
    phone_provider(twilio_standin)
    marketing = twilio_standin.add_account(
        "Marketing", numbers={"+18005550175"}, sender_ids={"Acme"}, messaging_services={SERVICE}
    )
    credentials = twilio_standin.credentials(
        account_sid=marketing.sid, auth_token=marketing.auth_token, from_number="+18005550175"
    )
    return connection("twilio", "Marketing", credentials), marketing


def sms_step(conn, sender="+18005550175", **params) -> dict:
    params = {
        "connection_id": conn.pk,
        "from": sender,
        "to": "{{ fields.phone }}",
        "message": "Your code is {{ fields.code }}",
        **params,
    }
    return {"id": "sms", "type": "TWILIO", "action": "SEND_SMS", "params": params}


def call_step(conn, payload, **params) -> dict:
    params = {
        "connection_id": conn.pk,
        "from": "+18005550175",
        "to": "{{ fields.phone }}",
        "payload": payload,
        **params,
    }
    return {"id": "call", "type": "TWILIO", "action": "MAKE_CALL", "params": params}


FIELDS = {"fields": {"phone": "+15551234567", "code": "4821", "name": "Ann & <Bob>"}}


def test_send_sms_uses_the_step_s_connection_and_outputs_twilio_s_message(accounts, twilio_standin):
    conn, marketing = accounts
    run = run_steps(sms_step(conn), input=FIELDS)
    assert run.status == Run.Status.SUCCEEDED, run.error
    [message] = twilio_standin.messages
    assert message["account_sid"] == marketing.sid  # not the phone provider's account
    assert message["body"] == "Your code is 4821" and message["from"] == "+18005550175"
    record = run.steps.get(step_id="sms")
    assert record.output == message and record.http_status == 201
    assert record.output["status"] == "queued" and record.output["sid"].startswith("SM")


@pytest.mark.parametrize(
    ("sender", "sent_from", "service"),
    [("Acme", "Acme", None), (SERVICE, None, SERVICE), ("+1 (800) 555-0175", "+18005550175", None)],
)
def test_sms_senders_number_sender_id_or_messaging_service(
    accounts, twilio_standin, sender, sent_from, service
):
    conn, _ = accounts
    run = run_steps(sms_step(conn, sender=sender), input=FIELDS)
    assert run.status == Run.Status.SUCCEEDED, run.error
    [message] = twilio_standin.messages
    assert message["from"] == sent_from and message["messaging_service_sid"] == service


def test_a_twilio_error_fails_the_step_with_twilio_s_body(accounts, twilio_standin):
    conn, _ = accounts
    run = run_steps(sms_step(conn, sender="+15005550006"), input=FIELDS)  # not this account's
    assert run.status == Run.Status.FAILED
    assert "Twilio error 21606" in run.error
    record = run.steps.get(step_id="sms")
    assert record.http_status == 400
    assert record.error_body["code"] == 21606 and "more_info" in record.error_body
    assert twilio_standin.messages == []


def test_an_allowed_failure_lets_later_steps_read_twilio_s_error(accounts):
    conn, _ = accounts
    failing = {**sms_step(conn, sender="Unknown"), "allow_failure": True}
    run = run_steps(
        failing,
        {
            "id": "out",
            "type": "FLOW",
            "action": "RETURN_JSON",
            "params": {
                "payload": {
                    "code": "{{ actions.sms.error.body.code }}",
                    "status": "{{ actions.sms.error.status }}",
                }
            },
        },
        input=FIELDS,
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.result == {"code": 21606, "status": 400}


def test_make_call_sends_the_twiml_with_inserted_values_escaped(accounts, twilio_standin):
    conn, marketing = accounts
    payload = (
        "<Response><Say>Hello {{ fields.name }}, your code is {{ fields.code }}</Say></Response>"
    )
    run = run_steps(call_step(conn, payload), input=FIELDS)
    assert run.status == Run.Status.SUCCEEDED, run.error
    [call] = twilio_standin.calls
    assert call["twiml"] == (
        "<Response><Say>Hello Ann &amp; &lt;Bob&gt;, your code is 4821</Say></Response>"
    )
    assert call["account_sid"] == marketing.sid
    output = run.steps.get(step_id="call").output
    assert output["sid"] == call["sid"] and output["sid"].startswith("CA")
    assert output["to"] == "+15551234567" and output["status"] == "queued"


def test_a_call_needs_a_number_the_account_owns(accounts):
    conn, _ = accounts
    run = run_steps(call_step(conn, "<Response/>", **{"from": "Acme"}), input=FIELDS)
    assert run.status == Run.Status.FAILED
    assert "The 'From' number 'Acme' is not a valid phone number" in run.error


def test_a_wrong_auth_token_is_twilio_s_error_and_the_token_stays_out(db, twilio_standin):
    token = "wrong-token-" + new_sid("")[:12]
    conn = connection("twilio", "Broken", twilio_standin.credentials(auth_token=token))
    run = run_steps(sms_step(conn, sender=twilio_standin.from_number), input=FIELDS)
    assert run.status == Run.Status.FAILED
    assert "Twilio error 20003: Authenticate" in run.error
    record = run.steps.get(step_id="sms")
    assert token not in json.dumps([record.inputs, record.error, record.error_body, run.error])


def test_empty_inputs_fail_the_step_saying_which(accounts):
    conn, _ = accounts
    run = run_steps(sms_step(conn, to="{{ fields.nobody }}"), input=FIELDS)
    assert "To rendered empty" in run.error
    run = run_steps(call_step(conn, "{{ fields.nothing }}"), input=FIELDS)
    assert "TwiML payload rendered empty" in run.error


def test_the_step_needs_a_twilio_connection(db, twilio_standin):
    other = connection("jwt", "Keys", {"algorithm": "HS256", "secret": "x" * 32})
    definition = {"actions": [sms_step(other)]}
    problems = [str(p) for p in problems_of(definition)]
    assert any(f"The twilio connection {other.pk} does not exist" in p for p in problems)
    long_message = {"actions": [sms_step(other, message="x" * 1501)]}
    assert any("At most 1500 characters" in str(p) for p in problems_of(long_message))
