"""An SMTP server, used as the email provider for Send email."""

import smtplib
import socket
import ssl
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv4_address

from vault_app.kinds.base import (
    CHOICE,
    EMAIL,
    INTEGER,
    SECRET,
    ConnectionKind,
    Field,
    TestResult,
    validate_host_name,
)

NONE, STARTTLS, TLS = "none", "starttls", "tls"


def validate_smtp_host(value: str) -> str:
    try:
        validate_ipv4_address(value)
        return value
    except ValidationError:
        pass
    if value.strip() == "localhost":
        return "localhost"
    return validate_host_name(value)


@contextmanager
def smtp_session(credentials: Mapping[str, Any]):
    """Yield an SMTP session that is connected, upgraded as configured and logged in."""
    host, port = credentials["host"], int(credentials["port"])
    timeout = settings.OUTBOUND_TIMEOUT
    server: smtplib.SMTP
    if credentials["security"] == TLS:
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    try:
        server.ehlo()
        if credentials["security"] == STARTTLS:
            if not server.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("The server does not offer STARTTLS.")
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if credentials.get("username"):
            server.login(credentials["username"], credentials.get("password") or "")
        yield server
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()


def _server_words(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()


def test(credentials: Mapping[str, Any]) -> TestResult:
    where = f"{credentials['host']}:{credentials['port']}"
    try:
        with smtp_session(credentials) as server:
            server.noop()
    except socket.gaierror:
        return TestResult(False, f"{credentials['host']} does not resolve.", field="host")
    except TimeoutError:
        return TestResult(
            False,
            f"{where} did not answer within {settings.OUTBOUND_TIMEOUT} seconds.",
            field="host",
        )
    except ConnectionRefusedError:
        return TestResult(False, f"{where} refused the connection.", field="port")
    except smtplib.SMTPNotSupportedError as exc:
        return TestResult(False, str(exc), field="security")
    except smtplib.SMTPAuthenticationError as exc:
        return TestResult(
            False, f"The server refused the login: {_server_words(exc)}", field="password"
        )
    except ssl.SSLError as exc:
        return TestResult(
            False, f"The TLS handshake with {where} failed: {exc.reason or exc}.", field="security"
        )
    except smtplib.SMTPResponseException as exc:
        return TestResult(False, f"The server answered {_server_words(exc)}")
    except (smtplib.SMTPException, OSError) as exc:
        return TestResult(False, f"Could not talk to {where}: {exc}", field="host")
    login = f" and logged in as {credentials['username']}" if credentials.get("username") else ""
    return TestResult(True, f"Connected to {where}{login}.")


KIND = ConnectionKind(
    key="smtp",
    label="SMTP email",
    description="An SMTP server that sends the emails of Send email.",
    provides=("email",),
    fields=(
        Field("host", "Host", validate=validate_smtp_host, placeholder="smtp.example.com"),
        Field("port", "Port", kind=INTEGER, default=587, min_value=1, max_value=65535),
        Field(
            "security",
            "Security",
            kind=CHOICE,
            default=STARTTLS,
            choices=(
                (STARTTLS, "STARTTLS (usually port 587)"),
                (TLS, "TLS from the start (usually port 465)"),
                (NONE, "None (only for a relay on a trusted network)"),
            ),
        ),
        Field("username", "Username", required=False),
        Field(
            "password",
            "Password",
            kind=SECRET,
            required=False,
            required_with="username",
            help="Needed when a username is set.",
        ),
        Field(
            "sender_email", "Default sender email", kind=EMAIL, placeholder="no-reply@example.com"
        ),
        Field("sender_name", "Default sender name", required=False),
    ),
    test=test,
)
