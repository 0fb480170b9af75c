"""The outbox: an email and phone provider that sends nothing and keeps every message.

Send email, Send SMS and Make call through it check their inputs as a real provider would
and give the same output, but the message only goes to the Outbox page (``outbox_app``).
"""

from collections.abc import Mapping
from typing import Any

from vault_app.kinds.base import EMAIL, ConnectionKind, Field, TestResult
from vault_app.kinds.twilio import validate_phone_number

DEFAULT_SENDER = "no-reply@sluice.example"
DEFAULT_NUMBER = "+15005550006"  # Twilio's number for tests: valid, never a real phone


def test(credentials: Mapping[str, Any]) -> TestResult:
    return TestResult(
        True,
        "The outbox keeps every email, text and call on the Outbox page; nothing leaves Sluice.",
    )


KIND = ConnectionKind(
    key="outbox",
    label="Outbox",
    description="Keeps each email, text and call a flow would send on the Outbox page, and "
    "sends nothing: for trying flows before you have an SMTP server or a Twilio account.",
    provides=("email", "phone"),
    fields=(
        Field("sender_email", "Default sender email", kind=EMAIL, default=DEFAULT_SENDER),
        Field("sender_name", "Default sender name", required=False, default="Sluice"),
        Field(
            "from_number",
            "Default From number",
            default=DEFAULT_NUMBER,
            validate=validate_phone_number,
            help="Shown as the sender of texts and calls that leave From empty.",
        ),
    ),
    test=test,
)
