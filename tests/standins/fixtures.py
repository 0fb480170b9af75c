"""Pytest fixtures for the vendor stand-ins (loaded by tests/conftest.py as a plugin).

- ``auth0_standin``: an ``Auth0Standin`` (domain, audience, base_url, client_id,
  client_secret, credentials(), requests_to(), force(), rate_limited(), route()...).
- ``twilio_standin``: a ``TwilioStandin`` (base_url, account_sid, auth_token,
  from_number, credentials(), messages, calls, requests_to(), force()...).
- ``smtp_standin`` / ``smtp_starttls_standin`` / ``smtp_tls_standin``: ``SmtpStandin``
  (host, port, username, password, security, credentials(), messages, logins...).
  The TLS ones make ``ssl.create_default_context()`` trust the test CA for the test.
- ``api_standin``: an ``ApiStandin``, any API an HTTP request step calls, with an OAuth
  token endpoint (answer(), protected(), hold(), token_endpoint, hosts, url()...).
- ``tls_certificates``: the session's throwaway CA and server certificate.
"""

import pytest

from tests.standins.api import ApiStandin
from tests.standins.auth0 import Auth0Standin, HttpStandin
from tests.standins.smtp import NONE, STARTTLS, TLS, SmtpStandin
from tests.standins.tls import Certificates, make_certificates
from tests.standins.twilio import TwilioStandin


def _serve(standin: HttpStandin):
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()
    if standin.errors:
        pytest.fail(f"The {standin.name} stand-in crashed:\n" + "\n".join(standin.errors))


@pytest.fixture
def auth0_standin():
    yield from _serve(Auth0Standin())


@pytest.fixture
def twilio_standin():
    yield from _serve(TwilioStandin())


@pytest.fixture
def api_standin():
    yield from _serve(ApiStandin())


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust_test_ca(monkeypatch, tls_certificates):
    """Make ssl.create_default_context() trust the test CA (and only it) for this test."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_certificates.ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return tls_certificates


@pytest.fixture
def smtp_standin():
    with SmtpStandin(NONE) as standin:
        yield standin


@pytest.fixture
def smtp_starttls_standin(trust_test_ca):
    with SmtpStandin(STARTTLS, trust_test_ca.server_context()) as standin:
        yield standin


@pytest.fixture
def smtp_tls_standin(trust_test_ca):
    with SmtpStandin(TLS, trust_test_ca.server_context()) as standin:
        yield standin
