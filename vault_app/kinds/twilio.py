"""A Twilio account, used as the phone provider for Send SMS and Make call."""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.core.exceptions import ValidationError

from vault_app.kinds.base import (
    SECRET,
    ConnectionKind,
    Field,
    TestResult,
    describe_transport_error,
    is_local_endpoint,
    json_object,
    outbound_http,
    validate_host_name,
)

DEFAULT_API = "https://api.twilio.com"
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
PHONE_NUMBER = re.compile(r"^\+[1-9][0-9]{6,14}$")


def validate_account_sid(value: str) -> str:
    if not ACCOUNT_SID.match(value.strip()):
        raise ValidationError("An Account SID is AC followed by 32 hexadecimal characters.")
    return value.strip()


def validate_phone_number(value: str) -> str:
    number = re.sub(r"[ ()-]", "", value)
    if not PHONE_NUMBER.match(number):
        raise ValidationError("Enter the number in international form, such as +14155550100.")
    return number


def validate_api_base(value: str) -> str:
    parts = urlsplit(value.strip())
    local = parts.scheme == "http" and is_local_endpoint(parts.netloc)
    if not local:
        if parts.scheme != "https":
            raise ValidationError("Enter an https:// address such as https://api.twilio.com.")
        validate_host_name(parts.hostname or "")
        if parts.port or parts.username or parts.password:
            raise ValidationError("Enter the address without a port or credentials.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValidationError("Enter the address alone, without a path.")
    return f"{parts.scheme}://{parts.netloc}"


def api_base(config: Mapping[str, Any]) -> str:
    return config.get("api_base_url") or DEFAULT_API


def client(credentials: Mapping[str, Any]) -> httpx.Client:
    """Return an HTTP client for this account's REST API, authenticated with SID and token."""
    return outbound_http(
        base_url=f"{api_base(credentials)}/2010-04-01/Accounts/{credentials['account_sid']}",
        auth=(credentials["account_sid"], credentials["auth_token"]),
    )


def twilio_error(response: httpx.Response) -> str:
    body = json_object(response)
    if body and body.get("message"):
        code = body.get("code")
        return f"Twilio error {code}: {body['message']}" if code else body["message"]
    return f"Twilio answered HTTP {response.status_code}."


def test(credentials: Mapping[str, Any]) -> TestResult:
    where = urlsplit(api_base(credentials)).netloc
    try:
        with client(credentials) as http:
            response = http.get(
                f"{api_base(credentials)}/2010-04-01/Accounts/{credentials['account_sid']}.json"
            )
    except httpx.TransportError as exc:
        return TestResult(False, describe_transport_error(exc, where), field="api_base_url")
    account = json_object(response)
    if response.status_code != 200 or account is None:
        field = "auth_token" if response.status_code == 401 else None
        return TestResult(False, twilio_error(response), field=field)
    name = account.get("friendly_name") or credentials["account_sid"]
    status = account.get("status", "active")
    if status != "active":
        return TestResult(False, f"Twilio account {name} is {status}; it cannot send.")
    return TestResult(True, f"Twilio account {name} is active.")


KIND = ConnectionKind(
    key="twilio",
    app_id="TWILIO",
    label="Twilio",
    description="A Twilio account that sends the texts and calls of Send SMS and Make call.",
    provides=("phone",),
    fields=(
        Field(
            "account_sid",
            "Account SID",
            validate=validate_account_sid,
            placeholder="AC0123456789abcdef0123456789abcdef",
        ),
        Field("auth_token", "Auth Token", kind=SECRET),
        Field(
            "from_number",
            "Default From number",
            validate=validate_phone_number,
            placeholder="+14155550100",
            help="Used when a Send SMS or Make call step leaves From empty.",
        ),
        Field(
            "api_base_url",
            "API base URL",
            required=False,
            validate=validate_api_base,
            help=f"Leave blank for {DEFAULT_API}.",
        ),
    ),
    test=test,
)
