"""A step that used a vault connection names it on the run page and in the editor's
test-run panel: by name, linked to the vault for admins, never by its bare id."""

import pytest

from flows_app.models import Run
from tests.flow_helpers import SPEC_PATH, auth0_connection, run_steps, step, user_input
from tests.vault_helpers import AUTH0_SECRET


@pytest.fixture
def failed_run(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    run = run_steps(
        step("get_user", "GET_USER", "Read the user", connection_id=tenant.pk, user_id="auth0|9"),
        input=user_input(),
        name="Welcome",
    )
    assert run.status == Run.Status.FAILED
    return run, tenant


def step_html(page: str, run: Run, step_id: str) -> str:
    return page.split(f'id="step-{run.pk}-{step_id}"')[1].split("</li>")[0]


def test_an_admin_sees_the_failed_step_s_connection_linked_to_the_vault(admin_client, failed_run):
    run, tenant = failed_run
    page = step_html(admin_client.get(f"/runs/{run.pk}/").content.decode(), run, "get_user")
    assert f'Connection: <a href="/vault/{tenant.pk}/">Acme tenant</a>' in page
    assert "<dt>connection_id</dt>" not in page
    assert "404 Not Found: The user does not exist. (inexistent_user)" in page
    assert AUTH0_SECRET not in page and tenant.secrets()["client_secret"] not in page


@pytest.mark.parametrize("persona", ["editor_client", "viewer_client"])
def test_others_see_its_name_without_a_link_to_the_vault(request, persona, failed_run):
    run, tenant = failed_run
    client = request.getfixturevalue(persona)
    page = step_html(client.get(f"/runs/{run.pk}/").content.decode(), run, "get_user")
    assert "Connection: <strong>Acme tenant</strong>" in page
    assert "/vault/" not in page


def test_the_editor_test_run_panel_names_the_connection(admin_client, failed_run):
    run, tenant = failed_run
    url = f"/flows/{run.flow_id}/edit/test-run/{run.pk}/"
    panel = admin_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f'Connection: <a href="/vault/{tenant.pk}/">Acme tenant</a>' in panel


def test_a_connection_deleted_since_the_run_is_named_as_gone(admin_client, failed_run):
    run, tenant = failed_run
    pk = tenant.pk
    run.flow.connection_uses.all().delete()
    tenant.delete()
    page = step_html(admin_client.get(f"/runs/{run.pk}/").content.decode(), run, "get_user")
    assert f"Connection: <strong>#{pk}, no longer in the vault</strong>" in page


def test_the_path_of_a_custom_request_names_its_connection_too(admin_client, auth0_standin):
    tenant = auth0_connection(auth0_standin, name="Staging tenant")
    run = run_steps(
        step("call", "SEND_REQUEST", connection_id=tenant.pk, pathname=SPEC_PATH, method="GET"),
        input=user_input(),
    )
    page = admin_client.get(f"/runs/{run.pk}/").content.decode()
    assert f'Connection: <a href="/vault/{tenant.pk}/">Staging tenant</a>' in page
