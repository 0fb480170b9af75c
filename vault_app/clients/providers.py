"""Deliver through the email or phone provider, whichever kind of connection it is.

Send email goes to an SMTP server or the outbox, Send SMS and Make call to Twilio or the
outbox; the outbox also keeps which run and step a message came from.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vault_app.clients import email, outbox, twilio
from vault_app.clients.email import DeliveryError
from vault_app.clients.outbox import Origin

if TYPE_CHECKING:
    from vault_app.models import Connection

Deliver = Callable[..., dict]
EMAIL: dict[str, Deliver] = {
    "smtp": lambda connection, origin, **message: email.send_email(connection, **message),
    "outbox": outbox.keep_email,
}
TEXT: dict[str, Deliver] = {
    "twilio": lambda connection, origin, **message: twilio.send_sms(connection, **message),
    "outbox": outbox.keep_text,
}
CALL: dict[str, Deliver] = {
    "twilio": lambda connection, origin, **message: twilio.make_call(connection, **message),
    "outbox": outbox.keep_call,
}


def _by_kind(senders: dict[str, Deliver], connection: "Connection", what: str) -> Deliver:
    deliver = senders.get(connection.kind)
    if deliver is None:
        raise DeliveryError(
            f"The {what} “{connection}” is a {connection.get_kind_display()} connection, "
            "which cannot deliver this; an admin chooses another on the Vault page."
        )
    return deliver


def send_email(connection: "Connection", origin: Origin, **message: Any) -> dict:
    return _by_kind(EMAIL, connection, "email provider")(connection, origin, **message)


def send_sms(connection: "Connection", origin: Origin, **message: Any) -> dict:
    return _by_kind(TEXT, connection, "phone provider")(connection, origin, **message)


def make_call(connection: "Connection", origin: Origin, **message: Any) -> dict:
    return _by_kind(CALL, connection, "phone provider")(connection, origin, **message)


__all__ = ["Origin", "make_call", "send_email", "send_sms"]
