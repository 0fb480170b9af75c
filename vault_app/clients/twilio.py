"""Send texts and place calls through the phone provider: a vault connection of kind twilio.

A POST that may have reached Twilio is never repeated, so a text is not sent twice; only a
429 (which Twilio answers before creating anything) is tried once more, and only when its
Retry-After fits in a small budget.
"""

import re
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import httpx
from django.core.exceptions import ValidationError

from sluice import metrics
from vault_app.clients.email import DeliveryError, connection_credentials, refuse_unencodable
from vault_app.kinds.base import describe_transport_error, json_object, scrub
from vault_app.kinds.twilio import api_base, client, twilio_error, validate_phone_number

if TYPE_CHECKING:
    from vault_app.models import Connection

RETRY_AFTER_BUDGET = 3.0  # seconds a 429 may make us wait before the one retry
MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")  # Twilio's alphanumeric sender ids
HINTS = {
    20003: " Check the Account SID and Auth Token of the phone provider connection.",
    21606: " Use a number this Twilio account owns as From.",
    21210: " Use a number this Twilio account owns or has verified as From.",
}


def send_sms(
    connection: "Connection", *, to: str, body: str, from_number: str | None = None
) -> dict:
    """Send a text; return the message resource Twilio created (``sid``, ``status``...)."""
    credentials = connection_credentials(connection, "twilio", "phone provider")
    return post(credentials, "Messages.json", text_form(credentials, to, body, from_number))


def make_call(
    connection: "Connection", *, to: str, message: str, from_number: str | None = None
) -> dict:
    """Call ``to`` and read ``message`` aloud; return the call resource Twilio created."""
    credentials = connection_credentials(connection, "twilio", "phone provider")
    return post(credentials, "Calls.json", call_form(credentials, to, message, from_number))


def text_form(credentials: dict, to: str, body: str, from_number: str | None) -> dict[str, str]:
    """Check a text's numbers and body; return the form Twilio's Messages resource takes."""
    fields = numbers(credentials, to, from_number)
    if not body.strip():
        raise DeliveryError("The text message is empty; nothing was sent.")
    return {**fields, "Body": refuse_unencodable("text", body)}


def call_form(credentials: dict, to: str, message: str, from_number: str | None) -> dict[str, str]:
    """Check a call's numbers and message; return the form Twilio's Calls resource takes."""
    fields = numbers(credentials, to, from_number)
    if not message.strip():
        raise DeliveryError("The voice message is empty; no call was made.")
    refuse_unencodable("voice message", message)
    return {**fields, "Twiml": say_twiml(message)}


def create_message(
    connection: "Connection", *, sender: str, to: str, body: str
) -> tuple[int, dict]:
    """Send a text from ``sender`` (a number, an alphanumeric sender id or a Messaging
    Service SID); return Twilio's status and message resource."""
    credentials = connection_credentials(connection, "twilio", "Twilio step")
    if not body.strip():
        raise DeliveryError("The text message is empty; nothing was sent.")
    fields = {**sender_fields(sender), "To": recipient(to)}
    return exchange(
        credentials, "Messages.json", {**fields, "Body": refuse_unencodable("text", body)}
    )


def create_call(
    connection: "Connection", *, from_number: str, to: str, twiml: str
) -> tuple[int, dict]:
    """Call ``to`` with ``twiml`` as the instructions; return Twilio's status and call resource."""
    credentials = connection_credentials(connection, "twilio", "Twilio step")
    if not twiml.strip():
        raise DeliveryError("The TwiML payload is empty; no call was made.")
    fields = {"From": phone_number("'From' number", from_number), "To": recipient(to)}
    return exchange(
        credentials, "Calls.json", {**fields, "Twiml": refuse_unencodable("TwiML", twiml)}
    )


def sender_fields(sender: str) -> dict[str, str]:
    """How Twilio is told who sends: ``MessagingServiceSid`` for ``MG…``, else ``From``."""
    sender = sender.strip()
    if not sender:
        raise DeliveryError("No 'From': enter a number, a sender id or a Messaging Service SID.")
    if MESSAGING_SERVICE.match(sender):
        return {"MessagingServiceSid": sender}
    if SENDER_ID.match(sender) and not sender.replace(" ", "").isdigit():
        return {"From": sender}
    return {"From": phone_number("'From' number", sender)}


def recipient(to: str) -> str:
    if not to.strip():
        raise DeliveryError("No 'To' number: enter the recipient's phone number.")
    return phone_number("'To' number", to)


def say_twiml(message: str) -> str:
    """Return TwiML that says ``message`` as text, whatever markup it contains."""
    speakable = "".join(ch for ch in message if is_xml_char(ch))
    return f"<Response><Say>{escape(speakable)}</Say></Response>"


def is_xml_char(ch: str) -> bool:
    """Return whether XML 1.0 allows ``ch`` in text (control characters it does not)."""
    return ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch > "\uffff"


def numbers(credentials: dict, to: str, from_number: str | None) -> dict[str, str]:
    sender = from_number or credentials.get("from_number") or ""
    if not to.strip():
        raise DeliveryError("No 'To' number: enter the recipient's phone number.")
    if not sender.strip():
        raise DeliveryError(
            "No 'From' number: enter one in the step or set the phone provider's default."
        )
    return {"To": phone_number("'To' number", to), "From": phone_number("'From' number", sender)}


def phone_number(label: str, value: str) -> str:
    try:
        return validate_phone_number(value)
    except ValidationError:
        raise DeliveryError(
            f"The {label} {value!r} is not a valid phone number; nothing was sent. "
            "Enter it in international form, such as +14155550100."
        ) from None


def post(credentials: dict, resource: str, form: dict[str, str]) -> dict:
    """POST ``form`` to the account's ``resource``; return Twilio's JSON answer."""
    return exchange(credentials, resource, form)[1]


def exchange(credentials: dict, resource: str, form: dict[str, str]) -> tuple[int, dict]:
    """POST ``form`` to the account's ``resource``; return Twilio's status and JSON answer."""
    try:
        with client(credentials) as http:
            response = counted_post(http, resource, form)
            wait = retry_wait(response)
            if wait is not None:
                time.sleep(wait)
                metrics.vendor_retried("twilio")
                response = counted_post(http, resource, form)
    except httpx.TransportError as exc:
        raise DeliveryError(transport_failure(exc, credentials)) from None
    answer = json_object(response)
    if response.is_success and answer is not None:
        return response.status_code, answer
    raise failure(response, answer, credentials)


def counted_post(http: httpx.Client, resource: str, form: dict[str, str]) -> httpx.Response:
    """POST to Twilio and count its answer (or its absence)."""
    try:
        response = http.post(resource, data=form)
    except httpx.TransportError:
        metrics.vendor_answered("twilio", None)
        raise
    metrics.vendor_answered("twilio", response.status_code)
    return response


def retry_wait(response: httpx.Response) -> float | None:
    """Return how long to wait before retrying a 429, or None when it is not worth it."""
    value = (response.headers.get("Retry-After") or "").strip()
    if response.status_code != 429 or not value:
        return None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if seconds <= RETRY_AFTER_BUDGET else None


def failure(response: httpx.Response, answer: dict | None, credentials: dict) -> DeliveryError:
    secrets = {"auth_token": credentials.get("auth_token")}
    status = response.status_code
    if response.is_success:
        text = f"Twilio answered HTTP {status} without a JSON body; it may have sent anyway."
        return DeliveryError(text, status=status, body=scrub(response.text[:1000], secrets))
    code = answer.get("code") if answer else None
    text = twilio_error(response).rstrip(".") + "."
    text += HINTS.get(code, "") if isinstance(code, int) else ""
    if answer and answer.get("more_info"):
        text += f" See {answer['more_info']}"
    body: Any = answer if answer is not None else scrub(response.text[:1000], secrets)
    return DeliveryError(scrub(text, secrets), code=code, status=status, body=body)


def transport_failure(exc: httpx.TransportError, credentials: dict) -> str:
    text = describe_transport_error(exc, api_base(credentials))
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        text += " Twilio may have accepted it anyway: check its logs before trying again."
    return text
