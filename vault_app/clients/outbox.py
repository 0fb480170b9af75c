"""The outbox's client: check and build each message as the real provider would, then keep it.

The step's output is what a real provider's would be (``{"success": true}``), and what a real
provider refuses (a bad address, an empty text, a text over Twilio's 1,600 characters) fails
the same way here. Nothing leaves Sluice.
"""

from typing import TYPE_CHECKING, NamedTuple

from outbox_app import store
from outbox_app.models import OutboxMessage
from vault_app.clients.email import DeliveryError, compose_email, connection_credentials
from vault_app.clients.sms import sms_segments
from vault_app.clients.twilio import call_form, text_form

if TYPE_CHECKING:
    from vault_app.models import Connection

SUCCESS = {"success": True}
TWILIO_TEXT_LIMIT = 1600  # characters Twilio accepts in one message body


class Origin(NamedTuple):
    """The run and step a message comes from, kept beside it."""

    run_id: int | None = None
    step_id: str = ""


def keep_email(
    connection: "Connection",
    origin: Origin,
    *,
    to: str,
    subject: str,
    html: str,
    from_email: str | None = None,
    from_name: str | None = None,
) -> dict:
    credentials = connection_credentials(connection, "outbox", "email provider")
    message, sender, recipient = compose_email(
        credentials, to=to, subject=subject, html=html, from_email=from_email, from_name=from_name
    )
    text = message.get_body(("plain",))
    _keep(
        connection,
        origin,
        channel=OutboxMessage.Channel.EMAIL,
        sender=str(message["From"]),
        recipient=recipient.addr_spec,
        subject=subject,
        text=text.get_content() if text else "",
        html=html,
        headers=[[name, str(value)] for name, value in message.items()],
        size=len(message.as_bytes()),
    )
    return dict(SUCCESS)


def keep_text(
    connection: "Connection", origin: Origin, *, to: str, body: str, from_number: str | None = None
) -> dict:
    credentials = connection_credentials(connection, "outbox", "phone provider")
    form = text_form(credentials, to, body, from_number)
    if len(body) > TWILIO_TEXT_LIMIT:
        raise DeliveryError(
            f"The text is {len(body):,} characters; a phone provider takes at most "
            f"{TWILIO_TEXT_LIMIT:,}, so nothing was sent."
        )
    _keep(
        connection,
        origin,
        channel=OutboxMessage.Channel.SMS,
        sender=form["From"],
        recipient=form["To"],
        text=body,
        details=sms_segments(body),
        size=len(body.encode()),
    )
    return dict(SUCCESS)


def keep_call(
    connection: "Connection",
    origin: Origin,
    *,
    to: str,
    message: str,
    from_number: str | None = None,
) -> dict:
    credentials = connection_credentials(connection, "outbox", "phone provider")
    form = call_form(credentials, to, message, from_number)
    _keep(
        connection,
        origin,
        channel=OutboxMessage.Channel.CALL,
        sender=form["From"],
        recipient=form["To"],
        text=message,
        details={"twiml": form["Twiml"]},
        size=len(form["Twiml"].encode()),
    )
    return dict(SUCCESS)


def _keep(connection: "Connection", origin: Origin, **fields) -> None:
    try:
        store.keep(provider=connection.name, run_id=origin.run_id, step_id=origin.step_id, **fields)
    except store.TooLarge as exc:
        raise DeliveryError(str(exc)) from None
