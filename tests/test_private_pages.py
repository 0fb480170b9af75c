"""Pages and API answers that show run data or connection settings are never cached."""

import pytest

from flows_app.api_auth import create_token
from tests.flow_helpers import auth0_connection, run_steps, step, user_input


@pytest.fixture
def failed_run(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    return run_steps(
        step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|9"),
        input=user_input(),
    )


def test_vault_run_and_flow_pages_say_no_store(admin_client, failed_run):
    connection_pk = failed_run.definition["actions"][0]["params"]["connection_id"]
    for url in (
        "/vault/",
        "/vault/new/?kind=smtp",
        f"/vault/{connection_pk}/",
        "/runs/",
        f"/runs/{failed_run.pk}/",
        f"/flows/{failed_run.flow_id}/",
        f"/flows/{failed_run.flow_id}/edit/",
        f"/flows/{failed_run.flow_id}/edit/test-run/{failed_run.pk}/",
    ):
        response = admin_client.get(
            url, headers={"HX-Request": "true"} if "test-run" in url else {}
        )
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_a_vault_form_sent_back_for_correction_says_no_store(admin_client):
    response = admin_client.post("/vault/new/?kind=auth0", {"name": "Acme"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_api_run_answers_say_no_store(client, failed_run, admin_user):
    token = create_token(failed_run.flow, name="Reader", user=admin_user)[1]
    response = client.get(
        f"/api/runs/{failed_run.pk}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
