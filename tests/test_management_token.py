"""The cached Management API token follows the connection's credentials.

An admin who changes a connection's client secret (or domain, client id, audience) in the
vault expects the next request to use the new credentials, not a token Auth0 issued for the
old ones: a leaked secret is rotated, a wrong one must show at once.
"""

import pytest

from tests.test_auth0_client import (
    ORGANIZATIONS,
    _no_memo_between_tests,  # noqa: F401  (an autouse fixture)
    api_requests,
    make_client,
    make_connection,
    token_requests,
)
from vault_app.clients.auth0 import ManagementApiError
from vault_app.models import Connection, ManagementToken


def edit_form(connection: Connection, **changes) -> dict:
    """The vault's edit form as an admin sends it: a blank secret keeps the stored one."""
    credentials = connection.credentials()
    return {
        "name": connection.name,
        "domain": credentials["domain"],
        "client_id": credentials["client_id"],
        "client_secret": "",
        "audience": credentials.get("audience", ""),
        **changes,
    }


def save_in_vault(admin_client, connection: Connection, **changes) -> Connection:
    response = admin_client.post(f"/vault/{connection.pk}/", edit_form(connection, **changes))
    assert response.status_code == 302, response.content.decode()
    return Connection.objects.get(pk=connection.pk)


@pytest.fixture
def tenant(db, auth0_standin) -> Connection:
    connection = make_connection(auth0_standin)
    make_client(connection).request("GET", ORGANIZATIONS)
    assert ManagementToken.objects.filter(connection=connection).exists()
    return connection


def test_a_new_client_secret_is_used_by_the_next_request(admin_client, tenant, auth0_standin):
    [old_token] = auth0_standin.tokens
    auth0_standin.clients[auth0_standin.client_id].client_secret = "rotated-secret-value"

    tenant = save_in_vault(admin_client, tenant, client_secret="rotated-secret-value")

    assert not ManagementToken.objects.filter(connection=tenant).exists()
    make_client(tenant).request("GET", ORGANIZATIONS)
    assert token_requests(auth0_standin) == 2
    assert api_requests(auth0_standin)[-1].bearer != old_token


def test_a_wrong_client_secret_fails_the_next_request(admin_client, tenant, auth0_standin):
    tenant = save_in_vault(admin_client, tenant, client_secret="a-secret-auth0-does-not-know")

    with pytest.raises(ManagementApiError, match="did not issue a Management API token"):
        make_client(tenant).request("GET", ORGANIZATIONS)
    assert len(api_requests(auth0_standin)) == 1


def test_saving_the_same_credentials_keeps_the_token(admin_client, tenant, auth0_standin):
    tenant = save_in_vault(admin_client, tenant, name="Acme production tenant")

    assert ManagementToken.objects.filter(connection=tenant).exists()
    make_client(tenant).request("GET", ORGANIZATIONS)
    assert token_requests(auth0_standin) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_id", "another-client"),
        ("audience", "https://acme.example/api/v2/"),
        ("domain", "localhost:9"),
    ],
)
def test_changing_what_a_token_is_for_drops_it(admin_client, tenant, field, value):
    save_in_vault(admin_client, tenant, **{field: value})

    assert not ManagementToken.objects.filter(connection=tenant).exists()
