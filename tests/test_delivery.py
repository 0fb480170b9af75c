"""Send email, Send SMS and Make call delivery, against the SMTP and Twilio stand-ins."""

import base64
import contextlib
import logging
import pickle
import re
import socket
from email.utils import parseaddr
from xml.etree import ElementTree

import pytest

from tests.standins.twilio import twilio_error
from vault_app.clients.email import DeliveryError, html_to_text, send_email
from vault_app.clients.twilio import make_call, send_sms
from vault_app.kinds import KINDS
from vault_app.models import Connection

MESSAGES = "/2010-04-01/Accounts/{sid}/Messages.json"
CALLS = "/2010-04-01/Accounts/{sid}/Calls.json"
WELCOME = """<html><head><title>Welcome</title><style>p { color: red }</style></head>
<body><h1>Welcome,  Ada &amp; Bob</h1>
<p>Please <a href="https://acme.example/confirm?a=1&amp;b=2">confirm your email</a>.<br>
Thanks&nbsp;!</p><script>alert("hi")</script>
<ul><li>One</li><li>Two</li></ul><div>Acme</div></body></html>"""


def log_everything(caplog) -> None:
    for name in ("", "httpx", "httpcore", "mail.log"):
        caplog.set_level(logging.DEBUG, logger=name)


def make_connection(kind: str, credentials: dict, name: str = "Provider") -> Connection:
    secret_names = KINDS[kind].secret_names
    connection = Connection(
        kind=kind,
        name=name,
        config={k: v for k, v in credentials.items() if k not in secret_names},
    )
    connection.set_secrets({k: v for k, v in credentials.items() if k in secret_names})
    connection.save()
    return connection


@pytest.fixture
def mail_provider(db, smtp_standin):
    return make_connection("smtp", smtp_standin.credentials())


@pytest.fixture
def phone_provider(db, twilio_standin):
    return make_connection("twilio", twilio_standin.credentials())


def content(part) -> str:
    """A part's decoded text with the CRLF line ends of the wire made plain."""
    return part.get_content().replace("\r\n", "\n")


def messages_to(standin):
    return standin.requests_to(MESSAGES.format(sid=standin.account_sid))


def calls_to(standin):
    return standin.requests_to(CALLS.format(sid=standin.account_sid))


# Send email -------------------------------------------------------------------------------


def test_an_email_carries_a_readable_text_part_and_the_html(mail_provider, smtp_standin):
    result = send_email(mail_provider, to="ada@example.com", subject="Welcome", html=WELCOME)

    assert result == {"success": True}
    [received] = smtp_standin.messages
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert content(html) == WELCOME + "\n"
    assert content(plain) == (
        "Welcome, Ada & Bob\n\n"
        "Please confirm your email (https://acme.example/confirm?a=1&b=2).\n"
        "Thanks !\n\n"
        "- One\n- Two\n\nAcme\n"
    )


def test_an_email_comes_from_the_default_sender_with_date_and_message_id(
    mail_provider, smtp_standin
):
    send_email(mail_provider, to="ada@example.com", subject="Hi", html="<p>Hi</p>")

    [received] = smtp_standin.messages
    assert received.mail_from == "no-reply@example.com"
    assert received.rcpt_tos == ["ada@example.com"]
    assert received.login == smtp_standin.username
    assert received.message["From"] == "Sluice <no-reply@example.com>"
    assert received.message["To"] == "ada@example.com"
    assert received.message["Date"].datetime is not None
    assert received.message["Message-ID"].endswith("@example.com>")


def test_a_custom_sender_replaces_the_default_email_and_name(mail_provider, smtp_standin):
    send_email(
        mail_provider,
        to="ada@example.com",
        subject="Hi",
        html="<p>Hi</p>",
        from_email="support@acme.example",
        from_name="Acme Support",
    )

    [received] = smtp_standin.messages
    assert received.mail_from == "support@acme.example"
    assert received.message["From"] == "Acme Support <support@acme.example>"


def test_utf8_subjects_and_names_arrive_intact_in_encoded_headers(mail_provider, smtp_standin):
    subject = "Grüße, Zoë — 你好 ✓"
    send_email(
        mail_provider,
        to="zoe@example.com",
        subject=subject,
        html="<p>Bonjour Zoë, ça va ?</p>",
        from_name="Zoë Ünïcode",
    )

    [received] = smtp_standin.messages
    headers = received.raw.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()
    assert received.message["Subject"] == subject
    assert parseaddr(str(received.message["From"])) == ("Zoë Ünïcode", "no-reply@example.com")
    assert content(received.message.get_body(("plain",))) == "Bonjour Zoë, ça va ?\n"


def test_a_sender_name_full_of_specials_stays_one_sender(mail_provider, smtp_standin):
    name = 'Eve, "the admin" <eve@attacker.example>'
    send_email(mail_provider, to="ada@example.com", subject="Hi", html="Hi", from_name=name)

    [received] = smtp_standin.messages
    [sender] = received.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (name, "no-reply@example.com")


def test_an_international_domain_is_sent_in_ascii_form(mail_provider, smtp_standin):
    send_email(mail_provider, to="ada@bücher.example", subject="Hi", html="Hi")

    [received] = smtp_standin.messages
    assert received.rcpt_tos == ["ada@xn--bcher-kva.example"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("to", "ada@example.com\r\nBcc: eve@attacker.example"),
        ("to", "ada@example.com\n"),
        ("subject", "Hello\r\nBcc: eve@attacker.example"),
        ("subject", "Hello\x00"),
        ("subject", "Hello\u2028Bcc: eve@attacker.example"),
        ("from_email", "support@acme.example\nBcc: eve@attacker.example"),
        ("from_name", "Acme\r\nBcc: eve@attacker.example"),
        ("from_name", "Acme\tSupport"),
    ],
)
def test_header_injection_is_refused_before_connecting(mail_provider, smtp_standin, field, value):
    fields = {"to": "ada@example.com", "subject": "Hi", **{field: value}}

    with pytest.raises(DeliveryError, match="line break or another control character"):
        send_email(mail_provider, html="<p>Hi</p>", **fields)

    assert smtp_standin.messages == []
    assert smtp_standin.logins == []


@pytest.mark.parametrize(
    "to", ["", "ada", "ada@example.com, eve@attacker.example", "Ada <ada@example.com>"]
)
def test_anything_but_one_recipient_address_is_refused(mail_provider, smtp_standin, to):
    with pytest.raises(DeliveryError, match="not one valid email address"):
        send_email(mail_provider, to=to, subject="Hi", html="Hi")

    assert smtp_standin.logins == []


def test_a_refused_recipient_gives_the_servers_code_and_words(mail_provider, smtp_standin):
    smtp_standin.rejected_recipients = {"gone@example.com"}

    with pytest.raises(DeliveryError) as caught:
        send_email(mail_provider, to="gone@example.com", subject="Hi", html="Hi")

    assert caught.value.code == 550
    assert str(caught.value).startswith(
        f"The mail server 127.0.0.1:{smtp_standin.port} refused the recipient gone@example.com: "
    )
    assert "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown" in str(
        caught.value
    )
    assert smtp_standin.messages == []


def test_a_temporary_failure_after_data_says_it_is_temporary(mail_provider, smtp_standin):
    smtp_standin.data_reply = "451 4.3.0 Mail server temporarily rejected message"

    with pytest.raises(DeliveryError) as caught:
        send_email(mail_provider, to="ada@example.com", subject="Hi", html="Hi")

    assert caught.value.code == 451
    assert "rejected the message: 451 4.3.0 Mail server temporarily" in str(caught.value)
    assert "trying again later may work" in str(caught.value)


def test_a_refused_login_is_reported_without_the_password(db, smtp_standin):
    wrong = "wrong-password-Lq83nZt"
    provider = make_connection("smtp", smtp_standin.credentials(password=wrong))

    with pytest.raises(DeliveryError) as caught:
        send_email(provider, to="ada@example.com", subject="Hi", html="Hi")

    assert caught.value.code == 535
    assert "refused the login of user mailer@example.com" in str(caught.value)
    assert wrong not in str(caught.value)


def test_an_unreachable_server_is_named(db, smtp_standin, unused_port):
    provider = make_connection("smtp", smtp_standin.credentials(port=unused_port))

    with pytest.raises(DeliveryError, match=f"127.0.0.1:{unused_port} refused the connection"):
        send_email(provider, to="ada@example.com", subject="Hi", html="Hi")


@pytest.mark.parametrize("standin", ["smtp_starttls_standin", "smtp_tls_standin"])
def test_it_delivers_over_starttls_and_implicit_tls(db, request, standin):
    server = request.getfixturevalue(standin)
    provider = make_connection("smtp", server.credentials())

    send_email(provider, to="ada@example.com", subject="Hi", html="<p>Hi</p>")

    [received] = server.messages
    assert received.tls


def test_a_connection_of_another_kind_cannot_send_email(phone_provider):
    with pytest.raises(DeliveryError, match="email provider needs a connection of kind smtp"):
        send_email(phone_provider, to="ada@example.com", subject="Hi", html="Hi")


def test_no_smtp_password_reaches_errors_or_logs(db, smtp_standin, caplog):
    log_everything(caplog)
    provider = make_connection("smtp", smtp_standin.credentials())
    smtp_standin.rejected_recipients = {"gone@example.com"}
    errors = []

    send_email(provider, to="ada@example.com", subject="Hi", html="Hi")
    for to in ("gone@example.com", "ada@example.com\nBcc: x@example.com"):
        with pytest.raises(DeliveryError) as caught:
            send_email(provider, to=to, subject="Hi", html="Hi")
        errors.append(str(caught.value))

    assert any(r.name == "mail.log" for r in caplog.records)
    assert not [r for r in caplog.records if smtp_standin.password in r.getMessage()]
    assert not [e for e in errors if smtp_standin.password in e]


# Turning HTML into text -------------------------------------------------------------------


def test_the_text_part_keeps_links_and_list_numbers_and_drops_code():
    html = (
        '<p>Mail <a href="mailto:help@acme.example">help@acme.example</a> or '
        '<a href="https://acme.example/help">https://acme.example/help</a>; '
        '<a href="#top">top</a></p>'
        "<ol><li>First</li><li>Second</li></ol>"
        "<table><tr><td>Name</td><td>Ada</td></tr><tr><td>Plan</td><td>Pro</td></tr></table>"
        "<style>.x{}</style><script>document.write('x')</script>&lt;not a tag&gt; &eacute;"
    )

    assert html_to_text(html) == (
        "Mail help@acme.example or https://acme.example/help; top\n\n"
        "1. First\n2. Second\n\n"
        "Name Ada\nPlan Pro\n\n"
        "<not a tag> é\n"
    )


# Send SMS ---------------------------------------------------------------------------------


def test_a_text_posts_exactly_to_from_and_body(phone_provider, twilio_standin):
    result = send_sms(phone_provider, to="+1 (415) 555-0100", body="Your code is 123456")

    [request] = messages_to(twilio_standin)
    assert request.body == {
        "To": "+14155550100",
        "From": "+15005550006",
        "Body": "Your code is 123456",
    }
    assert request.basic_auth == (twilio_standin.account_sid, twilio_standin.auth_token)
    assert result["sid"].startswith("SM")
    assert result["status"] == "queued"
    assert [m["sid"] for m in twilio_standin.messages] == [result["sid"]]


def test_a_custom_from_number_replaces_the_default(phone_provider, twilio_standin):
    twilio_standin.accounts[twilio_standin.account_sid].numbers.add("+442071838750")

    send_sms(phone_provider, to="+14155550100", body="Hi", from_number="+44 20 7183 8750")

    [request] = messages_to(twilio_standin)
    assert request.body["From"] == "+442071838750"


@pytest.mark.parametrize(
    "to, from_number, expected",
    [
        ("123", None, "The 'To' number '123' is not a valid phone number"),
        ("415 555 0100", None, "The 'To' number '415 555 0100' is not a valid"),
        ("", None, "No 'To' number"),
        ("+14155550100", "+0123", "The 'From' number '+0123' is not a valid"),
        ("+14155550100\nBody=x", None, "is not a valid phone number"),
    ],
)
def test_invalid_numbers_are_refused_before_sending(
    phone_provider, twilio_standin, to, from_number, expected
):
    with pytest.raises(DeliveryError, match=re.escape(expected)):
        send_sms(phone_provider, to=to, body="Hi", from_number=from_number)

    assert twilio_standin.requests == []


def test_an_empty_text_is_refused_before_sending(phone_provider, twilio_standin):
    with pytest.raises(DeliveryError, match="empty"):
        send_sms(phone_provider, to="+14155550100", body="  ")

    assert twilio_standin.requests == []


# Make call --------------------------------------------------------------------------------


def test_a_call_says_a_hostile_message_as_text(phone_provider, twilio_standin):
    message = "Hi </Say><Dial>+19005550100</Dial><Say> & <Play>x</Play> \"quoted\" 'too'"

    result = make_call(phone_provider, to="+14155550100", message=message)

    [request] = calls_to(twilio_standin)
    assert set(request.body) == {"To", "From", "Twiml"}
    assert (request.body["To"], request.body["From"]) == ("+14155550100", "+15005550006")
    response = ElementTree.fromstring(request.body["Twiml"])
    assert response.tag == "Response"
    [say] = list(response)
    assert say.tag == "Say"
    assert list(say) == []
    assert say.text == message
    assert result["sid"].startswith("CA")


def test_control_characters_do_not_break_the_calls_twiml(phone_provider, twilio_standin):
    make_call(phone_provider, to="+14155550100", message="Code\x00 1\x0b2 3")

    [request] = calls_to(twilio_standin)
    assert ElementTree.fromstring(request.body["Twiml"]).find("Say").text == "Code 12 3"


# Twilio's errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, message",
    [
        (21211, "The 'To' number +15005550001 is not a valid phone number."),
        (21212, "The 'From' number +15005550006 is not a valid phone number."),
    ],
)
def test_twilios_error_code_message_and_status_are_kept(
    phone_provider, twilio_standin, code, message
):
    path = MESSAGES.format(sid=twilio_standin.account_sid)
    twilio_standin.force(path, 400, twilio_error(400, code, message).body)

    with pytest.raises(DeliveryError) as caught:
        send_sms(phone_provider, to="+15005550001", body="Hi")

    error = caught.value
    assert str(error).startswith(f"Twilio error {code}: {message}")
    assert (error.code, error.status) == (code, 400)
    assert error.body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert error.as_dict()["code"] == code


def test_a_wrong_auth_token_gives_20003_without_the_token(db, twilio_standin, caplog):
    log_everything(caplog)
    wrong = "wrong-token-0123456789abcdef"
    provider = make_connection("twilio", twilio_standin.credentials(auth_token=wrong))

    with pytest.raises(DeliveryError) as caught:
        make_call(provider, to="+14155550100", message="Hi")

    assert (caught.value.code, caught.value.status) == (20003, 401)
    assert str(caught.value).startswith("Twilio error 20003: Authenticate.")
    assert "Auth Token" in str(caught.value)
    assert wrong not in str(caught.value)
    assert not [r for r in caplog.records if wrong in r.getMessage()]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_on_post_is_not_retried(phone_provider, twilio_standin, status):
    path = MESSAGES.format(sid=twilio_standin.account_sid)
    twilio_standin.force(path, status, twilio_error(status, 20500, "Internal Server Error").body)

    with pytest.raises(DeliveryError) as caught:
        send_sms(phone_provider, to="+14155550100", body="Hi")

    assert caught.value.status == status
    assert len(twilio_standin.requests) == 1


def test_a_timeout_is_not_retried_and_may_have_sent(db, twilio_standin, settings):
    settings.OUTBOUND_TIMEOUT = 1
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        provider = make_connection("twilio", twilio_standin.credentials(api_base_url=base))

        with pytest.raises(DeliveryError, match="may have accepted it anyway"):
            send_sms(provider, to="+14155550100", body="Hi")

        assert len(waiting_connections(silent)) == 1


def waiting_connections(server: socket.socket) -> list[socket.socket]:
    server.setblocking(False)
    accepted = []
    with contextlib.suppress(BlockingIOError):
        while True:
            accepted.append(server.accept()[0])
    for connection in accepted:
        connection.close()
    return accepted


def test_an_unreachable_api_is_named_and_nothing_was_sent(db, twilio_standin, unused_port):
    base = f"http://127.0.0.1:{unused_port}"
    provider = make_connection("twilio", twilio_standin.credentials(api_base_url=base))

    with pytest.raises(DeliveryError) as caught:
        send_sms(provider, to="+14155550100", body="Hi")

    assert str(caught.value) == f"Could not reach {base}: the connection was refused."


def test_a_rate_limit_with_a_short_retry_after_is_retried_once(phone_provider, twilio_standin):
    path = MESSAGES.format(sid=twilio_standin.account_sid)
    body = twilio_error(429, 20429, "Too Many Requests").body
    twilio_standin.force(path, 429, body, headers={"Retry-After": "0"})

    result = send_sms(phone_provider, to="+14155550100", body="Hi")

    assert len(messages_to(twilio_standin)) == 2
    assert [m["sid"] for m in twilio_standin.messages] == [result["sid"]]


@pytest.mark.parametrize(("retry_after", "times", "tries"), [("0", 2, 2), ("60", 1, 1), ("", 1, 1)])
def test_a_rate_limit_is_retried_at_most_once_and_within_budget(
    phone_provider, twilio_standin, retry_after, times, tries
):
    path = MESSAGES.format(sid=twilio_standin.account_sid)
    body = twilio_error(429, 20429, "Too Many Requests").body
    headers = {"Retry-After": retry_after} if retry_after else {}
    twilio_standin.force(path, 429, body, headers=headers, times=times)

    with pytest.raises(DeliveryError) as caught:
        send_sms(phone_provider, to="+14155550100", body="Hi")

    assert (caught.value.code, caught.value.status) == (20429, 429)
    assert len(messages_to(twilio_standin)) == tries
    assert twilio_standin.messages == []


def test_no_twilio_token_or_basic_auth_reaches_errors_or_logs(
    phone_provider, twilio_standin, caplog
):
    log_everything(caplog)
    token = twilio_standin.auth_token
    pair = f"{twilio_standin.account_sid}:{token}".encode()
    basic = base64.b64encode(pair).decode()

    send_sms(phone_provider, to="+14155550100", body="first")
    twilio_standin.force(MESSAGES.format(sid=twilio_standin.account_sid), 500, "oops")
    with pytest.raises(DeliveryError) as caught:
        send_sms(phone_provider, to="+14155550100", body="second")
    send_sms(phone_provider, to="+14155550100", body="third")

    said = [r.getMessage() for r in caplog.records] + [str(caught.value), repr(caught.value.body)]
    assert {"httpx", "httpcore.http11"} <= {r.name for r in caplog.records}
    assert not [line for line in said if token in line or basic in line]


def test_a_connection_of_another_kind_cannot_text(mail_provider):
    with pytest.raises(DeliveryError, match="phone provider needs a connection of kind twilio"):
        send_sms(mail_provider, to="+14155550100", body="Hi")


def test_a_delivery_error_survives_pickling_with_its_details():
    error = DeliveryError("Twilio error 21211: bad.", code=21211, status=400, body={"code": 21211})

    copy = pickle.loads(pickle.dumps(error))

    assert (str(copy), copy.code, copy.status, copy.body) == (
        "Twilio error 21211: bad.",
        21211,
        400,
        {"code": 21211},
    )
