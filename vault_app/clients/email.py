"""Send email through the email provider: a vault connection of kind smtp.

``send_email`` builds a multipart/alternative message (a readable text/plain part derived
from the HTML, then the HTML), refuses anything that could smuggle headers in, and turns
every SMTP failure into a ``DeliveryError`` that says what the server answered.
"""

import re
import smtplib
import socket
import ssl
import unicodedata
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from vault_app.crypto import VaultKeyError
from vault_app.kinds.base import scrub
from vault_app.kinds.smtp import smtp_session

if TYPE_CHECKING:
    from vault_app.models import Connection


class DeliveryError(Exception):
    """A message could not be handed to the provider; ``str(exc)`` says why, without secrets.

    ``code`` is the SMTP reply code or Twilio error code, ``status`` the HTTP status Twilio
    answered and ``body`` Twilio's error body, for the run record.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        status: int | None = None,
        body: Any = None,
    ):
        super().__init__(message)
        self.code = code
        self.status = status
        self.body = body

    def __reduce__(self):
        return (type(self), self.args, self.__dict__)

    def as_dict(self) -> dict[str, Any]:
        """Return the error as the run record shows it: message, then whatever is known."""
        details = {"code": self.code, "status": self.status, "body": self.body}
        return {"message": str(self), **{k: v for k, v in details.items() if v is not None}}


def connection_credentials(connection: "Connection", kind: str, purpose: str) -> dict:
    """Return the connection's credentials, or say why it cannot deliver."""
    if connection.kind != kind:
        raise DeliveryError(
            f"The {purpose} needs a connection of kind {kind}; "
            f"“{connection}” is of kind {connection.kind}."
        )
    try:
        return connection.credentials()
    except VaultKeyError as exc:
        raise DeliveryError(f"Connection “{connection}”: {exc} Enter the secrets again.") from exc


# Checking what goes into headers -----------------------------------------------------------


def refuse_unencodable(label: str, value: str) -> str:
    """Return ``value`` unless it holds characters UTF-8 cannot carry (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DeliveryError(
            f"The {label} contains characters that cannot be sent (unpaired surrogates)."
        ) from None
    return value


def refuse_control_characters(label: str, value: str) -> str:
    """Return ``value`` unless it holds a line break or other control character."""
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in value):
        raise DeliveryError(
            f"The {label} contains a line break or another control character; "
            "nothing was sent, because it could add headers to the email."
        )
    return value


def email_address(label: str, value: str) -> Address:
    """Return one validated address, its domain in ASCII (IDNA) form."""
    value = refuse_control_characters(label, value).strip()
    try:
        validate_email(value)
        local, _, domain = value.rpartition("@")
        return Address(addr_spec=f"{local}@{domain.encode('idna').decode('ascii')}")
    except (ValidationError, UnicodeError, ValueError, HeaderParseError):
        raise DeliveryError(
            f"The {label} {value!r} is not one valid email address such as ada@example.com."
        ) from None


# Building the message ----------------------------------------------------------------------


def build_message(
    *, sender: Address, sender_name: str, to: Address, subject: str, html: str
) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject
    message["From"] = Address(sender_name, addr_spec=sender.addr_spec)
    message["To"] = to
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.domain)
    # Quoted-printable keeps both parts 7-bit, so servers without 8BITMIME take them as sent.
    message.set_content(html_to_text(html), charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


class Composed(NamedTuple):
    """An email ready to go: the message and its envelope's sender and recipient."""

    message: EmailMessage
    sender: Address
    recipient: Address


def compose_email(
    credentials: dict,
    *,
    to: str,
    subject: str,
    html: str,
    from_email: str | None = None,
    from_name: str | None = None,
) -> Composed:
    """Check the inputs and build the message; raise ``DeliveryError`` when one is unsafe.
    An empty ``from_email``/``from_name`` takes the provider's default sender."""
    recipient = email_address("recipient email", to)
    sender = email_address("sender email", from_email or credentials.get("sender_email") or "")
    name = refuse_control_characters(
        "sender name", from_name or credentials.get("sender_name") or ""
    )
    refuse_control_characters("subject", subject)
    refuse_unencodable("message", html)
    message = build_message(
        sender=sender, sender_name=name.strip(), to=recipient, subject=subject, html=html
    )
    return Composed(message, sender, recipient)


def send_email(
    connection: "Connection",
    *,
    to: str,
    subject: str,
    html: str,
    from_email: str | None = None,
    from_name: str | None = None,
) -> dict:
    """Send one HTML email to ``to``; an empty ``from_email``/``from_name`` uses the default.

    Return ``{"success": True}`` once the server accepted the message; raise
    ``DeliveryError`` before connecting when an input is unsafe, or with the server's code
    and words when it refuses.
    """
    credentials = connection_credentials(connection, "smtp", "email provider")
    message, sender, recipient = compose_email(
        credentials, to=to, subject=subject, html=html, from_email=from_email, from_name=from_name
    )
    try:
        with smtp_session(credentials) as server:
            server.sendmail(sender.addr_spec, [recipient.addr_spec], message.as_bytes())
    except (smtplib.SMTPException, OSError) as exc:
        text = describe_smtp_failure(exc, credentials, recipient.addr_spec)
        code = getattr(exc, "smtp_code", None)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code = exc.recipients.get(recipient.addr_spec, (None, b""))[0]
        text = scrub(text[:1].upper() + text[1:], {"password": credentials.get("password")})
        raise DeliveryError(text, code=code) from None
    return {"success": True}


# Saying what went wrong --------------------------------------------------------------------


def server_words(code: int | None, reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    words = " ".join(f"{code or ''} {text}".split())
    if code and 400 <= code < 500:
        words += " (a temporary failure: trying again later may work)"
    return words


def describe_smtp_failure(exc: Exception, credentials: dict, recipient: str) -> str:
    where = f"the mail server {credentials['host']}:{credentials['port']}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = exc.recipients.get(recipient, (None, b""))
        return f"{where} refused the recipient {recipient}: {server_words(code, reply)}."
    if isinstance(exc, smtplib.SMTPSenderRefused):
        sender = exc.sender.decode() if isinstance(exc.sender, bytes) else exc.sender
        words = server_words(exc.smtp_code, exc.smtp_error)
        return f"{where} refused the sender {sender}: {words}."
    if isinstance(exc, smtplib.SMTPDataError):
        return f"{where} rejected the message: {server_words(exc.smtp_code, exc.smtp_error)}."
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        words = server_words(exc.smtp_code, exc.smtp_error)
        return f"{where} refused the login of user {credentials.get('username')}: {words}."
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} answered {server_words(exc.smtp_code, exc.smtp_error)}."
    return describe_connection_failure(exc, where)


def describe_connection_failure(exc: Exception, where: str) -> str:
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where} cannot send this message: {exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection unexpectedly ({exc or 'no reason given'})."
    if isinstance(exc, socket.gaierror):
        return f"Could not reach {where}: the host name does not resolve."
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within {settings.OUTBOUND_TIMEOUT} seconds."
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection."
    if isinstance(exc, ssl.SSLError):
        return f"The TLS handshake with {where} failed: {exc.reason or exc}."
    return f"Could not talk to {where}: {exc}."


# HTML to readable text ---------------------------------------------------------------------

SKIPPED = {"script", "style", "head", "title", "template"}
PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol"}
LINES = {
    "address", "article", "aside", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "header", "li", "main", "nav", "section", "tr",
}  # fmt: skip
SPACED = {"td", "th"}


class _TextMaker(HTMLParser):
    """Collect an HTML document's readable text: blocks on their own lines, links kept."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.links: list[tuple[str | None, int]] = []
        self.lists: list[list[int]] = []  # per open list: [next number] or [] if bulleted

    def text(self) -> str:
        lines = (line.rstrip() for line in "".join(self.out).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"

    def at_line_start(self) -> bool:
        return not self.out or self.out[-1].endswith("\n")

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self.out.append("\n" + "-" * 20 + "\n")
        elif tag == "img":
            self.handle_data(dict(attrs).get("alt") or "")
        elif tag in ("ul", "ol"):
            self.break_for("li" if self.lists else tag)
            self.lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            self.start_list_item()
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.out)))
        elif tag not in SPACED:
            self.break_for(tag)
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.break_for("li" if self.lists else tag)
        elif tag == "a" and self.links:
            self.end_link(*self.links.pop())
        else:
            self.break_for(tag)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def break_for(self, tag: str) -> None:
        if tag in PARAGRAPHS:
            self.out.append("\n\n")
        elif tag in LINES:
            self.new_line()
        elif tag in SPACED:
            self.out.append(" ")

    def new_line(self) -> None:
        if not self.at_line_start():
            self.out.append("\n")

    def start_list_item(self) -> None:
        self.new_line()
        numbering = self.lists[-1] if self.lists else []
        marker = f"{numbering[0]}. " if numbering else "- "
        if numbering:
            numbering[0] += 1
        self.out.append("  " * max(0, len(self.lists) - 1) + marker)

    def end_link(self, href: str | None, start: int) -> None:
        label = " ".join("".join(self.out[start:]).split())
        target = (href or "").strip()
        shown = target.removeprefix("mailto:").removeprefix("tel:")
        if not target or target.startswith(("#", "javascript:")) or shown in label:
            return
        self.out.append(f" ({target})" if label else shown)

    def handle_data(self, data):
        if self.skipping or not data:
            return
        if not self.pre:
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
            if self.at_line_start() or self.out[-1].endswith(" "):
                data = data.lstrip(" ")
        if data:
            self.out.append(data.replace("\xa0", " "))


def html_to_text(html: str) -> str:
    """Return the readable text of an HTML email, for its text/plain part."""
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    return maker.text()
