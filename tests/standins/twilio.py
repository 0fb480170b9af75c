"""A Twilio REST API stand-in (2010-04-01): accounts, Messages.json and Calls.json.

Requests authenticate with HTTP basic auth (Account SID, Auth Token). Errors are Twilio's
JSON: ``code``, ``message``, ``more_info``, ``status``. Accepted texts and calls are kept in
``messages`` and ``calls`` as the resources Twilio would return.
"""

import re
import secrets
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from tests.standins.auth0 import HttpStandin, Recorded, Reply

API = "/2010-04-01"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def twilio_error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


@dataclass
class TwilioAccount:
    sid: str
    auth_token: str
    friendly_name: str
    numbers: set[str] = field(default_factory=set)
    sender_ids: set[str] = field(default_factory=set)  # alphanumeric senders it may use
    messaging_services: set[str] = field(default_factory=set)  # MG… SIDs
    status: str = "active"
    type: str = "Full"
    date_created: str = field(default_factory=lambda: formatdate(usegmt=False))

    def resource(self) -> dict[str, Any]:
        uri = f"{API}/Accounts/{self.sid}"
        return {
            "auth_token": self.auth_token,
            "date_created": self.date_created,
            "date_updated": self.date_created,
            "friendly_name": self.friendly_name,
            "owner_account_sid": self.sid,
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                name: f"{uri}/{name.title().replace('_', '')}.json"
                for name in ("calls", "messages", "incoming_phone_numbers", "usage_records")
            },
            "type": self.type,
            "uri": f"{uri}.json",
        }


class TwilioStandin(HttpStandin):
    """Twilio's REST API at ``base_url``; ``account_sid`` / ``auth_token`` / ``from_number``
    are the default account, its token and the number it owns (the only allowed From)."""

    name = "twilio"

    def __init__(self):
        super().__init__()
        self.accounts: dict[str, TwilioAccount] = {}
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.from_number = "+15005550006"
        default = self.add_account("Sluice test account", numbers={self.from_number})
        self.account_sid, self.auth_token = default.sid, default.auth_token
        self.route("GET", API + "/Accounts/{sid}.json", self.handle_account)
        self.route("POST", API + "/Accounts/{sid}/Messages.json", self.handle_message)
        self.route("POST", API + "/Accounts/{sid}/Calls.json", self.handle_call)

    def add_account(self, friendly_name: str, numbers=(), **kwargs) -> TwilioAccount:
        account = TwilioAccount(
            new_sid("AC"), secrets.token_hex(16), friendly_name, set(numbers), **kwargs
        )
        self.accounts[account.sid] = account
        return account

    def credentials(self, **overrides) -> dict[str, Any]:
        """Credentials of a twilio connection pointing at this stand-in's default account."""
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": self.from_number,
            "api_base_url": self.base_url,
            **overrides,
        }

    # Hooks --------------------------------------------------------------------------------

    def standard_headers(self, request: Recorded, reply: Reply) -> dict[str, str]:
        return {"Twilio-Request-Id": new_sid("RQ"), "Twilio-Concurrent-Requests": "1"}

    def not_found(self, request: Recorded) -> Reply:
        return twilio_error(404, 20404, f"The requested resource {request.path} was not found")

    def method_not_allowed(self, request: Recorded) -> Reply:
        return twilio_error(405, 20004, "Method not allowed")

    # Endpoints ----------------------------------------------------------------------------

    def authenticate(self, request: Recorded, sid: str) -> TwilioAccount | Reply:
        """Return the account the request may use, or Twilio's 401 / 404 answer."""
        basic = request.basic_auth
        account = self.accounts.get(basic[0]) if basic else None
        if account is None or not secrets.compare_digest(
            basic[1].encode(), account.auth_token.encode()
        ):
            return twilio_error(401, 20003, "Authenticate")
        if sid != account.sid:
            return self.not_found(request)
        return account

    def handle_account(self, request: Recorded, sid: str) -> Reply:
        account = self.authenticate(request, sid)
        if isinstance(account, Reply):
            return account
        return Reply(200, account.resource())

    def _check_numbers(self, request: Recorded) -> Reply | dict:
        form = request.body if isinstance(request.body, dict) else {}
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if form.get("MessagingServiceSid") and not from_:
            return form
        if not from_:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not E164.match(from_) and not SENDER_ID.match(from_):
            return twilio_error(
                400,
                21212,
                f"The 'From' number {from_} is not a valid phone number, shortcode, "
                "or alphanumeric sender ID.",
            )
        return form

    def _resource(self, account: TwilioAccount, kind: str, prefix: str, **values) -> dict:
        sid = new_sid(prefix)
        now = formatdate(usegmt=False)
        return {
            "account_sid": account.sid,
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "sid": sid,
            "status": "queued",
            "uri": f"{API}/Accounts/{account.sid}/{kind}/{sid}.json",
            **values,
        }

    def handle_message(self, request: Recorded, sid: str) -> Reply:
        account = self.authenticate(request, sid)
        if isinstance(account, Reply):
            return account
        form = self._check_numbers(request)
        if isinstance(form, Reply):
            return form
        service = form.get("MessagingServiceSid")
        if service and service not in account.messaging_services:
            return twilio_error(400, 21705, "The Messaging Service SID is invalid.")
        sender = form.get("From", "")
        if sender and sender not in account.numbers | account.sender_ids:
            return twilio_error(
                400,
                21606,
                f"The From phone number {form['From']} is not a valid, SMS-capable inbound "
                "phone number or short code for your account.",
            )
        body = form.get("Body", "")
        if not body and not form.get("MediaUrl"):
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        message = self._resource(
            account,
            "Messages",
            "SM",
            to=form["To"],
            **{"from": sender or None},
            body=body,
            num_segments=str(1 if len(body) <= 160 else -(-len(body) // 153)),
            num_media="0",
            price=None,
            price_unit="USD",
            error_code=None,
            error_message=None,
            messaging_service_sid=service or None,
            date_sent=None,
        )
        with self._lock:
            self.messages.append(message)
        return Reply(201, message)

    def handle_call(self, request: Recorded, sid: str) -> Reply:
        account = self.authenticate(request, sid)
        if isinstance(account, Reply):
            return account
        form = self._check_numbers(request)
        if isinstance(form, Reply):
            return form
        if form["From"] not in account.numbers:
            return twilio_error(
                400,
                21210,
                f"The source phone number provided, {form['From']}, is not yet verified "
                "for your account. You may only make calls from phone numbers that you've "
                "verified or purchased from Twilio.",
            )
        if not form.get("Twiml") and not form.get("Url") and not form.get("ApplicationSid"):
            return twilio_error(
                400, 21205, "Either a 'Url', 'Twiml' or 'ApplicationSid' parameter is required."
            )
        call = self._resource(
            account,
            "Calls",
            "CA",
            to=form["To"],
            to_formatted=form["To"],
            **{"from": form["From"], "from_formatted": form["From"]},
            duration=None,
            start_time=None,
            end_time=None,
            price=None,
            price_unit="USD",
            answered_by=None,
            parent_call_sid=None,
        )
        with self._lock:
            self.calls.append({**call, "twiml": form.get("Twiml"), "url": form.get("Url")})
        return Reply(201, call)
