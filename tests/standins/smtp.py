"""SMTP server stand-ins built on aiosmtpd: plain with AUTH, STARTTLS and implicit TLS.

Each listens on 127.0.0.1 at a free port, checks ``username`` / ``password`` (AUTH PLAIN and
LOGIN), refuses MAIL before a login like a submission server, and keeps what it accepted in
``messages``. ``rejected_recipients`` and ``data_reply`` inject the errors a real server
gives (a refused recipient, a temporary failure after DATA).
"""

import asyncio
import email
import secrets
import socket
import ssl
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
NONE, STARTTLS, TLS = "none", "starttls", "tls"


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None
    tls: bool


class _BoundController(Controller):
    """aiosmtpd's threaded controller, serving a socket already bound to a free port."""

    def __init__(self, handler, sock: socket.socket, **kwargs):
        self._sock = sock
        super().__init__(handler, hostname=HOST, port=sock.getsockname()[1], **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpStandin:
    """An SMTP server; ``security`` is none, starttls or tls, as in the smtp connection kind."""

    def __init__(self, security: str = NONE, tls_context: ssl.SSLContext | None = None):
        self.security = security
        self.host = HOST
        self.port = 0
        self.username = "mailer@example.com"
        self.password = secrets.token_urlsafe(18)
        self.sender_email = "no-reply@example.com"
        self.messages: list[ReceivedMessage] = []
        self.logins: list[tuple[str, str, bool]] = []  # (mechanism, username, accepted)
        self.rejected_recipients: set[str] = set()
        self.data_reply: str | None = None
        self.slow_recipients: set[str] = set()  # mail to these waits slow_seconds before 250
        self.slow_seconds = 5.0
        self._tls_context = tls_context
        self._lock = threading.Lock()
        self._controller: _BoundController | None = None

    def start(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        options = {
            "server_hostname": "localhost",
            "authenticator": self._authenticate,
            # Over STARTTLS, AUTH is offered only once TLS is on. aiosmtpd does not count an
            # implicit-TLS socket as TLS, and plain is plain: there AUTH must be allowed as
            # is. The login requirement itself is enforced in handle_MAIL, which avoids the
            # warning aiosmtpd raises for auth_required without auth_require_tls.
            "auth_require_tls": self.security == STARTTLS,
        }
        if self.security == STARTTLS:
            options.update(tls_context=self._tls_context, require_starttls=True)
        elif self.security == TLS:
            options.update(ssl_context=self._tls_context)
        self._controller = _BoundController(_Handler(self), sock, **options)
        try:
            self._controller.start()
        except BaseException:
            sock.close()
            raise
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def credentials(self, **overrides) -> dict:
        """Credentials of an smtp connection pointing at this server."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "username": self.username,
            "password": self.password,
            "sender_email": self.sender_email,
            "sender_name": "Sluice",
            **overrides,
        }

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = False
        login = ""
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode(errors="replace")
            ok = secrets.compare_digest(login.encode(), self.username.encode()) and (
                secrets.compare_digest(auth_data.password, self.password.encode())
            )
        with self._lock:
            self.logins.append((mechanism, login, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _Handler:
    def __init__(self, standin: SmtpStandin):
        self.standin = standin

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.standin.username and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in {a.lower() for a in self.standin.rejected_recipients}:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.standin.data_reply:
            return self.standin.data_reply
        if self.standin.slow_recipients & set(envelope.rcpt_tos):
            await asyncio.sleep(self.standin.slow_seconds)
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        auth = session.auth_data
        received = ReceivedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            message=email.message_from_bytes(raw, policy=policy.default),
            raw=raw,
            login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
            tls=session.ssl is not None or self.standin.security == TLS,
        )
        with self.standin._lock:
            self.standin.messages.append(received)
        return "250 2.0.0 OK: queued"
