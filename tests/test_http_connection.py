"""The HTTP connection kind in the vault: one form with Auth0's four setups, each setup's
fields required only when chosen and kept only for it, secrets write-only, and a Test that
fetches an OAuth token or says what can be checked."""

import pytest

from tests.http_helpers import http_connection
from tests.vault_helpers import HTTP_TOKEN, http_form
from vault_app.models import Connection


def save(client, connection=None, **fields):
    url = f"/vault/{connection.pk}/" if connection else "/vault/new/?kind=http"
    return client.post(url, http_form(**fields))


def test_the_form_offers_the_four_setups_and_marks_each_field_s_setup(admin_client):
    page = admin_client.get("/vault/new/?kind=http").content.decode()
    for setup in ("Bearer token", "Basic authentication", "API key", "OAuth client credentials"):
        assert setup in page
    assert 'data-shown-for="setup" data-shown-value="OAUTH_CLIENT_CREDENTIALS"' in page
    assert "js/vault.js" in page


def test_a_setup_s_own_fields_are_required_and_the_input_is_kept(admin_client):
    response = save(
        admin_client, setup="OAUTH_CLIENT_CREDENTIALS", client_id="abc", token_endpoint=""
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"client_secret", "token_endpoint"}
    assert 'value="abc"' in response.content.decode()
    assert HTTP_TOKEN not in response.content.decode()
    assert not Connection.objects.exists()


def test_only_the_chosen_setup_s_settings_are_kept(admin_client):
    response = save(
        admin_client,
        setup="API_KEY",
        key_name="X-Api-Key",
        key_value="key-value-Jd61",
        username="left-over",
    )
    assert response.status_code == 302
    saved = Connection.objects.get()
    assert saved.config == {
        "setup": "API_KEY",
        "hosts": "api.partner.example",
        "key_name": "X-Api-Key",
        "key_in": "HEADER",
    }
    assert saved.secrets() == {"key_value": "key-value-Jd61"}  # the bearer token was dropped
    assert saved.missing_settings() == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"hosts": "https://api.example.com/x"}, "hosts", "is not a host"),
        ({"hosts": "localhost:8000"}, "hosts", "Enter a host name"),
        (
            {
                "setup": "OAUTH_CLIENT_CREDENTIALS",
                "client_id": "c",
                "client_secret": "s",
                "token_endpoint": "http://login.example.com/token",
            },
            "token_endpoint",
            "https://",
        ),
        (
            {"setup": "API_KEY", "key_name": "X Key", "key_value": "v"},
            "key_name",
            "letters, digits",
        ),
        ({"setup": "BASIC_AUTH", "username": "a:b"}, "username", "colon"),
    ],
)
def test_bad_settings_are_field_errors(admin_client, settings, fields, field, message):
    settings.ALLOW_LOCAL_ENDPOINTS = False
    response = save(admin_client, **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])


def test_an_oauth_connection_test_fetches_a_token(admin_client, api_standin):
    connection = http_connection(api_standin, "OAUTH_CLIENT_CREDENTIALS", scope="read:x")
    admin_client.post(f"/vault/{connection.pk}/test/")
    connection.refresh_from_db()
    assert connection.last_test_ok is True
    assert connection.last_test_message == (
        "The token endpoint issued an access token, valid for 3600 s."
    )
    assert api_standin.token_requests()[0].body["scope"] == "read:x"


def test_a_refused_oauth_test_names_the_secret_and_keeps_it_hidden(admin_client, api_standin):
    response = admin_client.post(
        "/vault/new/?kind=http",
        http_form(
            setup="OAUTH_CLIENT_CREDENTIALS",
            hosts=api_standin.hosts,
            client_id=api_standin.client_id,
            client_secret="wrong-secret-value-77",
            token_endpoint=api_standin.token_endpoint,
            then="test",
        ),
        follow=True,
    )
    page = response.content.decode()
    [connection] = Connection.objects.all()
    assert response.redirect_chain == [(f"/vault/{connection.pk}/", 302)]
    assert response.context["form"].errors["client_secret"] == [
        "Test failed: The token endpoint 127.0.0.1 refused (401): invalid_client: "
        "Client authentication failed."
    ]
    assert "wrong-secret-value-77" not in page


def test_a_bearer_test_says_what_it_can_check(admin_client, api_standin):
    connection = http_connection(api_standin, "BEARER")
    admin_client.post(f"/vault/{connection.pk}/test/")
    connection.refresh_from_db()
    assert connection.last_test_ok is True
    assert connection.last_test_message.startswith(
        "Sluice sends the credentials as Authorization: Bearer to 127.0.0.1, which it may "
        "reach. Only your API can tell"
    )
    assert api_standin.requests == []


def test_a_test_fails_on_a_host_sluice_will_not_reach(admin_client, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["10.1.2.3"]
    save(admin_client, hosts="10.1.2.3, 10.9.9.9")  # saved with the allow-list in place
    settings.ALLOW_LOCAL_ENDPOINTS = False
    settings.OUTBOUND_ALLOW_HOSTS = []
    connection = Connection.objects.get()
    admin_client.post(f"/vault/{connection.pk}/test/")
    connection.refresh_from_db()
    assert connection.last_test_ok is False
    assert "10.1.2.3 resolves to 10.1.2.3, a private address" in connection.last_test_message
