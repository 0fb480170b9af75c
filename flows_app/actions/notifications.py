"""Notification actions: Send email, Send SMS and Make call, through the vault's providers."""

from typing import Any

from flows_app.actions.base import (
    HTML_TEMPLATE,
    KEY_VALUE,
    SENDER,
    TEMPLATE,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)
from vault_app.clients.email import DeliveryError
from vault_app.clients.providers import Origin, make_call, send_email, send_sms

GROUP = "Notifications"
SUCCESS = {"success": True}
CUSTOM_VARS = Input(
    "custom_vars",
    "Custom variables",
    kind=KEY_VALUE,
    help="Values to use in the message as {{ custom_vars.your_variable_key }}.",
)
SUCCESS_FIELDS = (OutputField("success", "true once the provider accepted it."),)
PHONE_FROM = Input(
    "from",
    "From",
    help="Leave empty to use the phone provider's number; enter one to send from another.",
)


def _deliver(send) -> StepOutcome:
    try:
        send()
    except DeliveryError as exc:
        raise StepFailed(str(exc), body=exc.body, status=exc.status) from None
    return StepOutcome(dict(SUCCESS))


def _text(inputs: dict[str, Any], name: str, label: str) -> str:
    value = str(inputs.get(name) or "").strip()
    if not value:
        raise StepFailed(f"{label} rendered empty; check the template and the test data.")
    return value


def email(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    connection = ctx.provider("email")
    sender = inputs.get("from") or {}
    return _deliver(
        lambda: send_email(
            connection,
            Origin(ctx.run_id, ctx.step_id),
            to=_text(inputs, "to", "Recipient email"),
            subject=str(inputs.get("subject") or ""),
            html=str(inputs.get("body") or ""),
            from_email=(sender.get("email") or None) if isinstance(sender, dict) else None,
            from_name=(sender.get("name") or None) if isinstance(sender, dict) else None,
        )
    )


def sms(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    connection = ctx.provider("phone")
    return _deliver(
        lambda: send_sms(
            connection,
            Origin(ctx.run_id, ctx.step_id),
            to=_text(inputs, "to", "To"),
            body=_text(inputs, "message", "Message"),
            from_number=str(inputs.get("from") or "").strip() or None,
        )
    )


def call(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    connection = ctx.provider("phone")
    return _deliver(
        lambda: make_call(
            connection,
            Origin(ctx.run_id, ctx.step_id),
            to=_text(inputs, "to", "To"),
            message=_text(inputs, "message", "Message"),
            from_number=str(inputs.get("from") or "").strip() or None,
        )
    )


SEND_EMAIL = ActionType(
    type="AUTH0",
    action="SEND_EMAIL",
    group=GROUP,
    label="Send email",
    description="Send a custom email using the configured email provider.",
    inputs=(
        Input(
            "from",
            "Use custom sender email",
            kind=SENDER,
            help="By default the email provider's sender email and name are used. Turn "
            "this on to send from another address or name.",
        ),
        Input("to", "Recipient email", required=True, help="The recipient's email."),
        CUSTOM_VARS,
        Input(
            "subject",
            "Subject",
            required=True,
            max_length=255,
            uses_custom_vars=True,
            help="Supports custom variables and Liquid syntax.",
        ),
        Input(
            "body",
            "Message",
            kind=HTML_TEMPLATE,
            required=True,
            max_length=100_000,
            uses_custom_vars=True,
            help="HTML with Liquid; variables are HTML-escaped.",
        ),
    ),
    output='{"success": true} once the email provider accepted the message.',
    output_fields=SUCCESS_FIELDS,
    provider="email",
    run=email,
)


def _phone_inputs(message_help: str) -> tuple[Input, ...]:
    return (
        PHONE_FROM,
        Input("to", "To", required=True, help="The recipient's phone number."),
        CUSTOM_VARS,
        Input(
            "message",
            "Message",
            kind=TEMPLATE,
            required=True,
            max_length=1024,
            uses_custom_vars=True,
            help=message_help,
        ),
    )


SEND_SMS = ActionType(
    type="AUTH0",
    action="SEND_SMS",
    group=GROUP,
    label="Send SMS",
    description="Send a custom SMS using the configured phone provider.",
    inputs=_phone_inputs("Uses Liquid syntax and supports custom variables."),
    output='{"success": true} once the phone provider accepted the message.',
    output_fields=SUCCESS_FIELDS,
    provider="phone",
    run=sms,
)
MAKE_CALL = ActionType(
    type="AUTH0",
    action="MAKE_CALL",
    group=GROUP,
    label="Make call",
    description="Send a custom voice message using the configured phone provider.",
    inputs=_phone_inputs("Spoken to the recipient; Liquid and custom variables are supported."),
    output='{"success": true} once the phone provider accepted the call.',
    output_fields=SUCCESS_FIELDS,
    provider="phone",
    run=call,
)

ACTIONS = (SEND_EMAIL, SEND_SMS, MAKE_CALL)
