"""Each connection kind's test() against local stand-ins that answer like the real vendors."""

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from tests.standins.auth0 import Reply
from vault_app.kinds import KINDS
from vault_app.kinds.smtp import smtp_session
from vault_app.models import run_test

auth0, smtp, twilio = KINDS["auth0"], KINDS["smtp"], KINDS["twilio"]


# Auth0 ------------------------------------------------------------------------------------


def test_it_gets_a_management_api_token_and_names_audience_and_scopes(auth0_standin):
    result = run_test(auth0, auth0_standin.credentials())

    assert result.ok
    assert result.field is None
    assert auth0_standin.audience in result.message
    assert "read:users, update:users" in result.message


def test_it_asks_for_the_token_once_with_the_client_credentials_grant(auth0_standin):
    run_test(auth0, auth0_standin.credentials())

    [request] = auth0_standin.requests_to("/oauth/token")
    assert request.method == "POST"
    assert request.body == {
        "grant_type": "client_credentials",
        "client_id": auth0_standin.client_id,
        "client_secret": auth0_standin.client_secret,
        "audience": f"http://{auth0_standin.domain}/api/v2/",
    }
    assert len(auth0_standin.requests) == 1
    assert request.reply.status == 200


def test_a_wrong_client_secret_gives_auth0s_own_words(auth0_standin):
    result = run_test(auth0, auth0_standin.credentials(client_secret="not-the-secret"))

    assert not result.ok
    assert result.message == "access_denied: Unauthorized"
    assert result.field == "client_secret"


def test_an_unknown_client_id_is_refused_the_same_way(auth0_standin):
    result = run_test(auth0, auth0_standin.credentials(client_id="someone-else"))

    assert (result.ok, result.message) == (False, "access_denied: Unauthorized")


def test_an_audience_the_tenant_does_not_serve_is_named(auth0_standin):
    other = "https://other.example.com/api/v2/"
    result = run_test(auth0, auth0_standin.credentials(audience=other))

    assert not result.ok
    assert result.message == f"access_denied: Service not enabled within domain: {other}"
    assert result.field == "audience"
    assert auth0_standin.requests_to("/oauth/token")[0].body["audience"] == other


def test_a_client_without_a_grant_for_the_api_is_told_so(auth0_standin):
    auth0_standin.add_client("no-grant", "no-grant-secret-123", scopes=None)

    result = run_test(
        auth0,
        auth0_standin.credentials(client_id="no-grant", client_secret="no-grant-secret-123"),
    )

    assert not result.ok
    assert "client-grant" in result.message


def test_a_client_granted_no_scopes_passes_but_says_so(auth0_standin):
    auth0_standin.add_client("bare", "bare-secret-1234", scopes=())

    result = run_test(
        auth0, auth0_standin.credentials(client_id="bare", client_secret="bare-secret-1234")
    )

    assert result.ok
    assert result.message.endswith("with no scopes granted yet.")


def test_an_unreachable_tenant_is_about_the_domain(unused_port):
    credentials = {
        "domain": f"127.0.0.1:{unused_port}",
        "client_id": "client",
        "client_secret": "client-secret-value",
        "audience": "",
    }

    result = run_test(auth0, credentials)

    assert not result.ok
    assert result.field == "domain"
    assert result.message == f"Could not reach 127.0.0.1:{unused_port}: the connection was refused."


def test_a_server_that_is_not_auth0_is_about_the_domain(auth0_standin):
    auth0_standin.force(
        "/oauth/token", 404, "<h1>Not Found</h1>", headers={"Content-Type": "text/html"}
    )

    result = run_test(auth0, auth0_standin.credentials())

    assert not result.ok
    assert result.field == "domain"
    assert "is not answering like an Auth0 tenant" in result.message


def test_a_rate_limited_tenant_says_so(auth0_standin):
    auth0_standin.rate_limited("/oauth/token", retry_after=2)

    result = run_test(auth0, auth0_standin.credentials())

    assert not result.ok
    assert result.message == "too_many_requests: Rate limit exceeded"
    assert run_test(auth0, auth0_standin.credentials()).ok  # only the next answer was forced


def test_a_200_that_is_not_json_fails_instead_of_crashing(auth0_standin):
    """A captive portal or proxy can answer 200 with HTML; that is not a token."""
    auth0_standin.force(
        "/oauth/token",
        200,
        "<html>Sign in to the Wi-Fi</html>",
        headers={"Content-Type": "text/html"},
    )

    result = run_test(auth0, auth0_standin.credentials())

    assert not result.ok
    assert result.field == "domain"


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"client_secret": "wrong-secret-value"},
        {"audience": "https://other.example.com/api/v2/"},
        {"client_id": "unknown-client"},
    ],
)
def test_the_client_secret_never_appears_in_a_result(auth0_standin, change):
    credentials = auth0_standin.credentials(**change)

    result = run_test(auth0, credentials)

    assert credentials["client_secret"] not in result.message
    assert auth0_standin.client_secret not in result.message


def test_a_server_echoing_the_secret_gets_it_masked(auth0_standin):
    def echo(request):
        secret = request.body["client_secret"]
        return Reply(401, {"error": "access_denied", "error_description": f"Bad secret {secret}"})

    auth0_standin.route("POST", "/oauth/token", echo)
    credentials = auth0_standin.credentials(client_secret="leaky-secret-4711")

    result = run_test(auth0, credentials)

    assert not result.ok
    assert "leaky-secret-4711" not in result.message
    assert result.message == "access_denied: Bad secret ********"


# The Auth0 stand-in itself -----------------------------------------------------------------


def test_the_auth0_standin_accepts_a_form_body_and_sends_rate_limit_headers(auth0_standin):
    response = httpx.post(
        f"{auth0_standin.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": auth0_standin.client_id,
            "client_secret": auth0_standin.client_secret,
            "audience": auth0_standin.audience,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert body["access_token"] in auth0_standin.tokens
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert response.headers[header].isdigit()


def test_the_auth0_standin_wants_a_grant_type(auth0_standin):
    response = httpx.post(f"{auth0_standin.base_url}/oauth/token", json={"client_id": "x"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing required parameter: grant_type",
    }


def test_the_auth0_standin_forces_answers_then_goes_back_to_normal(auth0_standin):
    auth0_standin.force("/oauth/token", 503, {"error": "temporarily_unavailable"}, times=2)
    token_url = f"{auth0_standin.base_url}/oauth/token"
    grant = auth0_standin.credentials()
    body = {
        "grant_type": "client_credentials",
        "client_id": grant["client_id"],
        "client_secret": grant["client_secret"],
        "audience": auth0_standin.audience,
    }

    statuses = [httpx.post(token_url, json=body).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert [r.reply.status for r in auth0_standin.requests_to("/oauth/token")] == statuses


def test_the_auth0_standin_can_grow_management_api_routes(auth0_standin):
    def get_user(request, id):
        denied = auth0_standin.authorize(request, "read:users")
        return denied or Reply(200, {"user_id": id})

    auth0_standin.route("GET", "/api/v2/users/{id}", get_user)
    url = f"{auth0_standin.base_url}/api/v2/users/auth0%7C123"
    token = httpx.post(
        f"{auth0_standin.base_url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": auth0_standin.client_id,
            "client_secret": auth0_standin.client_secret,
            "audience": auth0_standin.audience,
        },
    ).json()["access_token"]

    anonymous = httpx.get(url)
    allowed = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    auth0_standin.expire_tokens()
    expired = httpx.get(url, headers={"Authorization": f"Bearer {token}"})

    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "Missing authentication"
    assert allowed.json() == {"user_id": "auth0|123"}
    assert expired.status_code == 401
    assert httpx.get(f"{auth0_standin.base_url}/api/v2/nothing").json()["statusCode"] == 404


# SMTP -------------------------------------------------------------------------------------


def test_it_connects_and_logs_in_to_a_plain_server(smtp_standin):
    result = run_test(smtp, smtp_standin.credentials())

    assert result.ok, result.message
    assert result.message == (
        f"Connected to 127.0.0.1:{smtp_standin.port} and logged in as {smtp_standin.username}."
    )
    assert [ok for _, _, ok in smtp_standin.logins] == [True]


def test_a_wrong_smtp_password_is_about_the_password(smtp_standin):
    result = run_test(smtp, smtp_standin.credentials(password="wrong-password-99"))

    assert not result.ok
    assert result.field == "password"
    assert result.message.startswith("The server refused the login: 535")
    assert "wrong-password-99" not in result.message
    assert smtp_standin.logins and not any(ok for _, _, ok in smtp_standin.logins)


def test_it_upgrades_with_starttls_and_logs_in(smtp_starttls_standin):
    result = run_test(smtp, smtp_starttls_standin.credentials())

    assert result.ok, result.message
    assert smtp_starttls_standin.logins == [("PLAIN", smtp_starttls_standin.username, True)]


def test_starttls_against_a_server_without_it_is_about_security(smtp_standin):
    result = run_test(smtp, smtp_standin.credentials(security="starttls"))

    assert not result.ok
    assert result.field == "security"
    assert result.message == "The server does not offer STARTTLS."
    assert smtp_standin.logins == []  # no password went over the plain connection


def test_starttls_with_a_certificate_nobody_vouches_for_is_about_security(
    smtp_starttls_standin, monkeypatch, tmp_path
):
    empty = tmp_path / "no-authorities.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))

    result = run_test(smtp, smtp_starttls_standin.credentials())

    assert not result.ok
    assert result.field == "security"
    assert "TLS handshake" in result.message
    assert smtp_starttls_standin.logins == []


def test_no_security_against_a_server_that_wants_starttls_is_about_security(
    smtp_starttls_standin,
):
    result = run_test(smtp, smtp_starttls_standin.credentials(security="none"))

    assert not result.ok
    assert result.field == "security"
    assert smtp_starttls_standin.logins == []


def test_it_speaks_tls_from_the_start(smtp_tls_standin):
    result = run_test(smtp, smtp_tls_standin.credentials())

    assert result.ok, result.message
    assert [ok for _, _, ok in smtp_tls_standin.logins] == [True]


def test_tls_from_the_start_against_a_plain_server_is_about_security(smtp_standin, trust_test_ca):
    result = run_test(smtp, smtp_standin.credentials(security="tls"))

    assert not result.ok
    assert result.field == "security"


def test_a_refused_smtp_connection_is_about_the_port(unused_port):
    credentials = {
        "host": "127.0.0.1",
        "port": unused_port,
        "security": "none",
        "username": "",
        "password": "",
        "sender_email": "no-reply@example.com",
    }

    result = run_test(smtp, credentials)

    assert not result.ok
    assert result.field == "port"
    assert result.message == f"127.0.0.1:{unused_port} refused the connection."


def test_the_smtp_standin_keeps_what_it_accepts(smtp_starttls_standin):
    message = EmailMessage()
    message["From"] = "no-reply@example.com"
    message["To"] = "ada@example.com"
    message["Subject"] = "Your code is 123456"
    message.set_content("Hello Ada")
    smtp_starttls_standin.rejected_recipients.add("nobody@example.com")

    with smtp_session(smtp_starttls_standin.credentials()) as server:
        server.send_message(message)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            server.sendmail("no-reply@example.com", ["nobody@example.com"], "Subject: x\r\n\r\nx")

    [received] = smtp_starttls_standin.messages
    assert received.rcpt_tos == ["ada@example.com"]
    assert received.message["Subject"] == "Your code is 123456"
    assert received.message.get_content().strip() == "Hello Ada"
    assert received.login == smtp_starttls_standin.username
    assert received.tls


def test_the_smtp_standin_refuses_mail_before_a_login(smtp_standin):
    with (
        smtp_session(smtp_standin.credentials(username="")) as server,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        server.sendmail("no-reply@example.com", ["ada@example.com"], "Subject: x\r\n\r\nx")

    assert refused.value.smtp_code == 530
    assert smtp_standin.messages == []


# Twilio -----------------------------------------------------------------------------------


def test_it_reads_the_twilio_account_and_names_it(twilio_standin):
    result = run_test(twilio, twilio_standin.credentials())

    assert result.ok
    assert result.message == "Twilio account Sluice test account is active."
    [request] = twilio_standin.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_standin.account_sid}.json"
    assert request.basic_auth == (twilio_standin.account_sid, twilio_standin.auth_token)


def test_a_wrong_twilio_token_is_about_the_auth_token(twilio_standin):
    result = run_test(twilio, twilio_standin.credentials(auth_token="f" * 32))

    assert not result.ok
    assert result.message == "Twilio error 20003: Authenticate"
    assert result.field == "auth_token"


def test_an_unreachable_twilio_api_is_about_the_base_url(unused_port):
    credentials = {
        "account_sid": "AC" + "0123456789abcdef" * 2,
        "auth_token": "twilio-token-value",
        "from_number": "+15005550006",
        "api_base_url": f"http://127.0.0.1:{unused_port}",
    }

    result = run_test(twilio, credentials)

    assert not result.ok
    assert result.field == "api_base_url"
    assert result.message == f"Could not reach 127.0.0.1:{unused_port}: the connection was refused."


def test_the_twilio_token_never_appears_in_a_result(twilio_standin):
    """Twilio's account resource carries the auth token; the test must not repeat it."""
    for token in (twilio_standin.auth_token, "wrong-token-1234"):
        result = run_test(twilio, twilio_standin.credentials(auth_token=token))
        assert token not in result.message


def test_a_twilio_200_that_is_not_json_fails_instead_of_crashing(twilio_standin):
    twilio_standin.force(
        "/2010-04-01/Accounts/{sid}.json",
        200,
        "<html>proxy</html>",
        headers={"Content-Type": "text/html"},
    )

    result = run_test(twilio, twilio_standin.credentials())

    assert not result.ok


# The Twilio stand-in itself ----------------------------------------------------------------


def _twilio(standin, path, **kwargs):
    return httpx.request(
        kwargs.pop("method", "POST"),
        f"{standin.base_url}/2010-04-01/Accounts/{standin.account_sid}{path}",
        auth=(standin.account_sid, standin.auth_token),
        **kwargs,
    )


def test_the_twilio_standin_queues_texts_and_calls(twilio_standin):
    sms = _twilio(
        twilio_standin,
        "/Messages.json",
        data={"To": "+14155550100", "From": twilio_standin.from_number, "Body": "Hi"},
    )
    call = _twilio(
        twilio_standin,
        "/Calls.json",
        data={
            "To": "+14155550100",
            "From": twilio_standin.from_number,
            "Twiml": "<Response><Say>Hi</Say></Response>",
        },
    )

    assert (sms.status_code, sms.json()["status"]) == (201, "queued")
    assert sms.json()["sid"].startswith("SM")
    assert (call.status_code, call.json()["status"]) == (201, "queued")
    assert call.json()["sid"].startswith("CA")
    assert [m["body"] for m in twilio_standin.messages] == ["Hi"]
    assert [c["twiml"] for c in twilio_standin.calls] == ["<Response><Say>Hi</Say></Response>"]


@pytest.mark.parametrize(
    ("to", "from_", "code"),
    [("555-0100", "+15005550006", 21211), ("+14155550100", "not a number", 21212)],
)
def test_the_twilio_standin_checks_numbers(twilio_standin, to, from_, code):
    response = _twilio(
        twilio_standin, "/Messages.json", data={"To": to, "From": from_, "Body": "x"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert twilio_standin.messages == []


def test_the_twilio_standin_hides_other_accounts(twilio_standin):
    other = "AC" + "ab" * 16
    response = httpx.get(
        f"{twilio_standin.base_url}/2010-04-01/Accounts/{other}.json",
        auth=(twilio_standin.account_sid, twilio_standin.auth_token),
    )

    assert response.status_code == 404
    assert response.json()["code"] == 20404
    assert response.json()["message"] == (
        f"The requested resource /2010-04-01/Accounts/{other}.json was not found"
    )


def test_a_suspended_twilio_account_fails_its_test(twilio_standin):
    twilio_standin.accounts[twilio_standin.account_sid].status = "suspended"
    result = run_test(twilio, twilio_standin.credentials())

    assert not result.ok
    assert result.message == "Twilio account Sluice test account is suspended; it cannot send."
