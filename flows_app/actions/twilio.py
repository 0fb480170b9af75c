"""Twilio actions (Auth0's ``type: "TWILIO"``): Send SMS and Make call with a Twilio
connection chosen on the step, not the vault's phone provider.

The output is Twilio's own answer, the Message or Call resource it created (``sid``,
``status``, ``to``, ``from``…), unchanged. A Twilio error fails the step and keeps Twilio's
body (``code``, ``message``, ``more_info``, ``status``) for the run record.
"""

from dataclasses import replace
from typing import Any

from flows_app.actions.base import (
    CONNECTION,
    XML_TEMPLATE,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)
from vault_app.clients.email import DeliveryError
from vault_app.clients.twilio import create_call, create_message

TYPE = "TWILIO"
GROUP = "Twilio"
CONNECTION_INPUT = Input(
    "connection_id",
    "Connection",
    kind=CONNECTION,
    required=True,
    connection_kind="twilio",
    help="The Twilio account (from the vault) to send with.",
)
TO = Input(
    "to",
    "To",
    required=True,
    help="The recipient's number in international form, such as {{ fields.phone }}.",
)


def _text(inputs: dict[str, Any], name: str, label: str) -> str:
    value = inputs.get(name)
    value = "" if value is None else str(value)
    if not value.strip():
        raise StepFailed(f"{label} rendered empty; check the template and the test data.")
    return value


def _send(create) -> StepOutcome:
    try:
        status, resource = create()
    except DeliveryError as exc:
        raise StepFailed(str(exc), body=exc.body, status=exc.status) from None
    return StepOutcome(resource, status)


def send_sms(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    connection = ctx.connection(inputs.get("connection_id"), "twilio")
    sender, to = _text(inputs, "from", "From"), _text(inputs, "to", "To")
    body = _text(inputs, "message", "Message")
    return _send(lambda: create_message(connection, sender=sender, to=to, body=body))


def make_call(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    connection = ctx.connection(inputs.get("connection_id"), "twilio")
    from_number, to = _text(inputs, "from", "From"), _text(inputs, "to", "To")
    twiml = _text(inputs, "payload", "TwiML payload")
    return _send(lambda: create_call(connection, from_number=from_number, to=to, twiml=twiml))


SEND_SMS = ActionType(
    type=TYPE,
    action="SEND_SMS",
    group=GROUP,
    label="Send SMS with Twilio",
    description="Send a text message through a Twilio account of the vault.",
    inputs=(
        CONNECTION_INPUT,
        Input(
            "from",
            "From",
            required=True,
            max_length=50,
            help="A number of the account (+18005550175), an alphanumeric sender id (up to 11 "
            "letters, digits and spaces), or a Messaging Service SID (MG…).",
        ),
        replace(TO, max_length=50),
        Input("message", "Message", required=True, max_length=1500, help="The text to send."),
    ),
    output="The Message resource Twilio created: {{ actions.<id>.sid }}, "
    "{{ actions.<id>.status }} (queued), to, from, body, …",
    output_fields=(
        OutputField("sid", "The message's id at Twilio (SM…)."),
        OutputField("status", "The message's status, such as queued."),
        OutputField("to", "The number the message goes to."),
        OutputField("from", "The sender it goes from."),
        OutputField("body", "The text sent."),
        OutputField("num_segments", "How many SMS segments the text takes."),
        OutputField("error_code", "Twilio's error code, or null."),
    ),
    run=send_sms,
)
MAKE_CALL = ActionType(
    type=TYPE,
    action="MAKE_CALL",
    group=GROUP,
    label="Make call with Twilio",
    description="Place a call that follows TwiML instructions through a Twilio account.",
    inputs=(
        CONNECTION_INPUT,
        Input(
            "from",
            "From",
            required=True,
            help="A number of the account with its country code, such as +18005550175.",
        ),
        TO,
        Input(
            "payload",
            "TwiML payload",
            kind=XML_TEMPLATE,
            required=True,
            max_length=4096,
            help="The call's instructions, such as <Response><Say>Your code is "
            "{{ actions.generate_otp.code }}</Say></Response>. Inserted values are XML-escaped.",
        ),
    ),
    output="The Call resource Twilio created: {{ actions.<id>.sid }}, {{ actions.<id>.status }} "
    "(queued), to, from, …",
    output_fields=(
        OutputField("sid", "The call's id at Twilio (CA…)."),
        OutputField("status", "The call's status, such as queued."),
        OutputField("to", "The number called."),
        OutputField("from", "The number it calls from."),
    ),
    run=make_call,
)

ACTIONS = (SEND_SMS, MAKE_CALL)
