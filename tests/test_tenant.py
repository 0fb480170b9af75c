"""Pulling a tenant's flows into Sluice and pushing them back, against the Auth0 stand-in:
paging, Auth0's refusals (403, 404, 429), the pull page (staff only, CSRF) and the
``flows pull`` / ``flows push`` commands with their exit codes."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from flows_app import drafts, tenant
from flows_app.management.commands.flows import Command as FlowsCommand
from flows_app.models import Flow
from flows_app.services import create_flow, edit_draft
from tests.flow_helpers import auth0_connection, connection, step
from tests.standins.auth0_flows import FLOW_SCOPES, READ_SCOPES
from vault_app.clients import auth0 as client_module
from vault_app.models import Connection

ACME = "Acme tenant"
USER_ID = "{{ context.user.user_id }}"


@pytest.fixture(autouse=True)
def _no_memo_between_tests():
    client_module.forget_cached_tokens()
    yield
    client_module.forget_cached_tokens()


@pytest.fixture
def flows_api(auth0_standin):
    """The tenant's Flows API; the default application may read and write flows."""
    auth0_standin.clients[auth0_standin.client_id].scopes += FLOW_SCOPES
    return auth0_standin.flows_api


@pytest.fixture
def acme(db, flows_api, auth0_standin) -> Connection:
    """Sluice's connection to the tenant, named like the tenant's own vault connection."""
    return auth0_connection(auth0_standin, ACME)


@pytest.fixture
def tenant_acme(flows_api) -> dict:
    return flows_api.add_vault_connection(ACME, "AUTH0")


def onboarding_actions(connection_id: str) -> list[dict]:
    return [
        step("get_user", "GET_USER", connection_id=connection_id, user_id=USER_ID),
        step(
            "mark_onboarded",
            "UPDATE_USER",
            alias="Mark onboarded",
            connection_id=connection_id,
            user_id=USER_ID,
            changes={"app_metadata": {"onboarded": True}},
        ),
    ]


@pytest.fixture
def onboarding(flows_api, tenant_acme) -> dict:
    return flows_api.add_flow("Onboarding", onboarding_actions(tenant_acme["id"]))


def limited_connection(auth0_standin, name: str, scopes) -> Connection:
    """A Sluice connection whose application Auth0 grants only ``scopes``."""
    client_id, secret = f"{name}-client", f"{name}-secret-0123456789abcdef"
    auth0_standin.add_client(client_id, secret, scopes)
    credentials = auth0_standin.credentials(client_id=client_id, client_secret=secret)
    return connection("auth0", name, credentials)


def flows(*args) -> str:
    out = io.StringIO()
    call_command("flows", *args, stdout=out)
    return out.getvalue()


def refused(*args) -> CommandError:
    with pytest.raises(CommandError) as caught:
        flows(*args)
    return caught.value


def api_requests(auth0_standin) -> list:
    return [r for r in auth0_standin.requests if r.path.startswith("/api/v2/")]


def writes(auth0_standin) -> list:
    return [r for r in api_requests(auth0_standin) if r.method in ("POST", "PATCH")]


# The client: pages and Auth0's refusals ----------------------------------------------------


def test_it_follows_every_page_of_the_flow_list(acme, flows_api, auth0_standin):
    made = [flows_api.add_flow(f"Flow {n:03}") for n in range(120)]
    with tenant.Tenant(acme) as client:
        client.per_page = 50
        listed = client.list_flows()
    assert [f["id"] for f in listed] == [f["id"] for f in made]
    assert all("actions" not in f for f in listed)
    pages = auth0_standin.requests_to("/api/v2/flows")
    assert [(r.query["page"], r.query["per_page"]) for r in pages] == [
        (["0"], ["50"]),
        (["1"], ["50"]),
        (["2"], ["50"]),
    ]
    assert all(r.query["include_totals"] == ["true"] for r in pages)


def test_it_lists_every_vault_connection_by_name_and_kind(acme, flows_api, auth0_standin):
    for n in range(60):
        flows_api.add_vault_connection(f"Conn {n:02}", "HTTP" if n % 2 else "AUTH0")
    with tenant.Tenant(acme) as client:
        client.per_page = 50
        listed = client.list_vault_connections()
    assert len(listed) == 60
    assert listed[1] == (listed[1].id, "Conn 01", "HTTP")
    assert listed[1].id.startswith("ac_")
    assert len(auth0_standin.requests_to("/api/v2/flows/vault/connections")) == 2


def test_a_missing_scope_is_auth0s_own_insufficient_scope(db, flows_api, auth0_standin):
    unscoped = limited_connection(auth0_standin, "Users only", ("read:users",))
    with pytest.raises(tenant.TenantError) as caught, tenant.Tenant(unscoped) as client:
        client.list_flows()
    assert caught.value.status == 403
    assert caught.value.error_code == "insufficient_scope"
    assert "Insufficient scope, expected any of: read:flows" in str(caught.value)


def test_an_unknown_flow_is_a_404(acme):
    with pytest.raises(tenant.TenantError) as caught, tenant.Tenant(acme) as client:
        client.get_flow("af_doesNotExist0000000000")
    assert caught.value.status == 404
    assert "The flow does not exist." in str(caught.value)


def test_a_flow_id_that_is_not_one_is_refused_before_sending(acme, auth0_standin):
    with pytest.raises(ValueError, match="not an Auth0 flow id"), tenant.Tenant(acme) as client:
        client.get_flow("../users")
    assert api_requests(auth0_standin) == []


def test_a_429_waits_as_asked_then_succeeds(acme, onboarding, auth0_standin):
    auth0_standin.rate_limited("/api/v2/flows", retry_after=2)
    waits: list[float] = []
    with tenant.Tenant(acme) as client:
        client.api.sleep = waits.append
        listed = client.list_flows()
    assert [f["id"] for f in listed] == [onboarding["id"]]
    first, second = auth0_standin.requests_to("/api/v2/flows")
    assert first.reply.status == 429
    assert first.reply.headers["Retry-After"] == "2"
    assert first.reply.headers["x-ratelimit-remaining"] == "0"
    assert second.reply.status == 200
    assert waits == [2.0]


def test_a_429_asking_too_long_a_wait_is_a_tenant_error(acme, onboarding, auth0_standin):
    auth0_standin.rate_limited("/api/v2/flows", retry_after=3600)
    with pytest.raises(tenant.TenantError) as caught, tenant.Tenant(acme) as client:
        client.list_flows()
    assert caught.value.status == 429
    assert "Global limit has been reached" in str(caught.value)


# flows pull ---------------------------------------------------------------------------------


def test_pull_imports_a_flow_with_tenant_ids_mapped_to_the_vault(acme, onboarding):
    out = flows("pull", "--connection", ACME, "--flow", onboarding["id"])
    flow = Flow.objects.get(auth0_id=onboarding["id"])
    assert flow.name == "Onboarding"
    assert [s["params"]["connection_id"] for s in flow.draft["actions"]] == [acme.pk, acme.pk]
    assert f"Imported Onboarding (id {flow.pk}) with 2 step(s)." in out


def test_pull_without_flows_takes_them_all(acme, onboarding, flows_api):
    flows_api.add_flow("Empty one")
    flows("pull", "--connection", ACME)
    assert sorted(Flow.objects.values_list("name", flat=True)) == ["Empty one", "Onboarding"]


def test_pull_refuses_connections_the_vault_lacks_unless_placeholders(acme, flows_api):
    other = flows_api.add_vault_connection("Staging tenant", "AUTH0")
    staged = flows_api.add_flow("Staged", onboarding_actions(other["id"]))
    error = refused("pull", "--connection", ACME, "--flow", staged["id"])
    assert error.returncode == 1
    assert "no auth0 connection named 'Staging tenant'" in str(error)
    assert not Flow.objects.exists()
    out = flows("pull", "--connection", ACME, "--flow", staged["id"], "--placeholders")
    placeholder = Connection.objects.get(name="Staging tenant")
    assert placeholder.kind == "auth0"
    assert "placeholder auth0 connection 'Staging tenant'" in out


def test_pull_list_shows_flows_and_vault_connections(acme, onboarding):
    out = flows("pull", "--connection", ACME, "--list")
    assert onboarding["id"] in out
    assert "2 action(s)  Onboarding" in out
    assert "AUTH0      Acme tenant  (in Sluice)" in out


def test_pull_exit_codes_for_a_refusing_tenant_and_an_unknown_connection(db, auth0_standin):
    auth0_standin.flows_api.add_flow("Anything")
    limited_connection(auth0_standin, "No flows", ("read:users",))
    error = refused("pull", "--connection", "No flows")
    assert error.returncode == 3
    assert "Insufficient scope, expected any of: read:flows_vault_connections" in str(error)
    assert refused("pull", "--connection", "Nobody").returncode == 1


def test_pull_of_an_unknown_flow_exits_3_with_auth0s_404(acme, tenant_acme):
    error = refused("pull", "--connection", ACME, "--flow", "af_gone00000000000000000")
    assert error.returncode == 3
    assert "404 Not Found: The flow does not exist." in str(error)


# flows push ---------------------------------------------------------------------------------


def edit(flow: Flow, **changes) -> None:
    """Change a step's params the way the editor's inspector does."""
    flow.refresh_from_db()
    step_id, params = next(iter(changes.items()))
    current = next(s for s in flow.draft["actions"] if s["id"] == step_id)
    definition = drafts.update_step(
        flow.draft, step_id, alias=current.get("alias"), params={**current["params"], **params}
    )
    assert [p for p in edit_draft(flow, definition) if p.step_id == step_id] == []


def test_pull_edit_dry_run_then_push_updates_the_tenant(acme, onboarding, flows_api, auth0_standin):
    flows("pull", "--connection", ACME, "--flow", onboarding["id"])
    flow = Flow.objects.get(auth0_id=onboarding["id"])
    edit(flow, mark_onboarded={"changes": {"app_metadata": {"onboarded": True, "plan": "pro"}}})

    diff = flows("push", "--connection", ACME, str(flow.pk), "--dry-run")
    assert diff.startswith(f"--- auth0/{onboarding['id']}\n+++ sluice/{flow.pk}\n")
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+")]
    assert '"plan": "pro"' in added
    assert '"connection_id": "Acme tenant"' in diff  # names, not ids, on both sides
    assert writes(auth0_standin) == []
    assert flows_api.flow(onboarding["id"])["actions"] == onboarding["actions"]

    out = flows("push", "--connection", ACME, "Onboarding")
    assert out == f"Updated {onboarding['id']} (Onboarding) in the tenant.\n"
    [patch] = writes(auth0_standin)
    assert patch.method == "PATCH" and patch.path == f"/api/v2/flows/{onboarding['id']}"
    assert set(patch.body) == {"name", "actions"}
    stored = flows_api.flow(onboarding["id"])
    changes = stored["actions"][1]["params"]["changes"]
    assert changes == {"app_metadata": {"onboarded": True, "plan": "pro"}}
    assert {a["params"]["connection_id"] for a in stored["actions"]} == {onboarding_ids(onboarding)}

    again = flows("push", "--connection", ACME, "Onboarding")
    assert again.startswith(f"Nothing to change: the tenant's flow {onboarding['id']} matches.")
    assert len(writes(auth0_standin)) == 1


def onboarding_ids(onboarding: dict) -> str:
    return onboarding["actions"][0]["params"]["connection_id"]


def test_push_creates_a_flow_the_tenant_lacks_and_remembers_its_id(
    acme, tenant_acme, flows_api, auth0_standin
):
    flow = create_flow(
        name="Welcome",
        definition={"schema_version": 1, "actions": onboarding_actions(acme.pk)},
    )
    diff = flows("push", "--connection", ACME, "Welcome", "--dry-run")
    assert diff.startswith("--- auth0 (no such flow yet)\n+++ sluice/")
    out = flows("push", "--connection", ACME, "Welcome")
    flow.refresh_from_db()
    assert flow.auth0_id.startswith("af_")
    assert out == f"Created {flow.auth0_id} (Welcome) in the tenant.\n"
    created = flows_api.flow(flow.auth0_id)
    assert created["actions"][0]["params"]["connection_id"] == tenant_acme["id"]
    flows("push", "--connection", ACME, "Welcome")
    assert [r.method for r in writes(auth0_standin)] == ["POST"]


def test_push_finds_the_tenant_flow_by_name_when_it_was_not_pulled(acme, onboarding, auth0_standin):
    create_flow(
        name="Onboarding",
        definition={"schema_version": 1, "actions": onboarding_actions(acme.pk)[:1]},
    )
    flows("push", "--connection", ACME, "Onboarding")
    [patch] = writes(auth0_standin)
    assert patch.path == f"/api/v2/flows/{onboarding['id']}"


def test_push_falls_back_to_the_name_when_the_pulled_id_is_not_in_this_tenant(
    acme, onboarding, auth0_standin
):
    flow = create_flow(
        name="Onboarding",
        definition={"schema_version": 1, "actions": onboarding_actions(acme.pk)},
    )
    Flow.objects.filter(pk=flow.pk).update(auth0_id="af_fromAnotherTenant000000")
    out = flows("push", "--connection", ACME, "Onboarding")
    assert out.startswith("Nothing to change")
    flows("push", "--connection", ACME, "Onboarding", "--dry-run")
    assert writes(auth0_standin) == []


def test_push_refuses_two_tenant_flows_of_the_same_name(acme, onboarding, flows_api):
    flows_api.add_flow("Onboarding")
    create_flow(name="Onboarding")
    error = refused("push", "--connection", ACME, "Onboarding")
    assert error.returncode == 1
    assert "The tenant has 2 flows named 'Onboarding'" in str(error)


def test_push_stops_before_writing_when_the_tenant_lacks_a_connection(
    acme, onboarding, auth0_standin
):
    flows("pull", "--connection", ACME, "--flow", onboarding["id"])
    staging = auth0_connection(auth0_standin, "Staging tenant")
    flow = Flow.objects.get(auth0_id=onboarding["id"])
    edit(flow, get_user={"connection_id": staging.pk})
    error = refused("push", "--connection", ACME, "Onboarding")
    assert error.returncode == 1
    assert "The tenant has no vault connection named 'Staging tenant'" in str(error)
    assert "(used by get_user)" in str(error)
    assert writes(auth0_standin) == []

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("flows", "push", "--connection", ACME, "Onboarding", "--dry-run", stdout=out)
    added = [line[1:].strip() for line in out.getvalue().splitlines() if line.startswith("+")]
    assert '"connection_id": "Staging tenant",' in added


def test_push_refuses_a_draft_with_problems(acme, tenant_acme, auth0_standin):
    create_flow(
        name="Broken",
        definition={"schema_version": 1, "actions": [step("get_user", "GET_USER")]},
    )
    error = refused("push", "--connection", ACME, "Broken")
    assert error.returncode == 1
    assert "Fix the draft's problems first" in str(error)
    assert api_requests(auth0_standin) == []


def test_push_without_write_scopes_exits_3_with_auth0s_message(db, flows_api, auth0_standin):
    reader = limited_connection(auth0_standin, "Reader", READ_SCOPES)
    tenant_reader = flows_api.add_vault_connection("Reader", "AUTH0")
    flows_api.add_flow("Onboarding", onboarding_actions(tenant_reader["id"]))
    create_flow(
        name="Onboarding",
        definition={"schema_version": 1, "actions": onboarding_actions(reader.pk)[:1]},
    )
    error = refused("push", "--connection", "Reader", "Onboarding")
    assert error.returncode == 3
    assert "403 Forbidden: Insufficient scope, expected any of: update:flows" in str(error)
    assert "(insufficient_scope)" in str(error)


@pytest.mark.django_db(transaction=True)
def test_the_command_line_exits_3_and_says_why_on_stderr(flows_api, auth0_standin, capsys):
    reader = limited_connection(auth0_standin, "Reader", READ_SCOPES)
    flows_api.add_vault_connection("Reader", "AUTH0")
    definition = {"schema_version": 1, "actions": onboarding_actions(reader.pk)}
    create_flow(name="New one", definition=definition)
    argv = ["manage.py", "flows", "--skip-checks", "push", "--connection", "Reader", "New one"]
    with pytest.raises(SystemExit) as exited:
        FlowsCommand().run_from_argv(argv)
    assert exited.value.code == 3
    captured = capsys.readouterr()
    assert "Insufficient scope, expected any of: create:flows" in captured.err
    assert captured.out == ""


def test_push_help_text_lists_exit_codes_and_scopes(capsys):
    with pytest.raises(SystemExit) as exited:
        FlowsCommand().create_parser("manage.py", "flows").parse_args(["push", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "3  the tenant refused" in text
    assert "create:flows and update:flows" in text


# The pull page ------------------------------------------------------------------------------

PAGE = "/flows/pull/"


def test_only_staff_reach_the_pull_page(editor_client, viewer_client, acme):
    for client in (editor_client, viewer_client):
        assert client.get(PAGE).status_code == 403
        assert client.get(f"{PAGE}?connection={acme.pk}").status_code == 403
        assert client.post(PAGE, {"connection": acme.pk, "flows": ["af_x"]}).status_code == 403
    assert b"Pull from Auth0" not in editor_client.get("/flows/").content


def test_the_flow_list_links_staff_to_the_pull_page(admin_client, db):
    assert b'href="/flows/pull/"' in admin_client.get("/flows/").content


def test_the_page_lists_the_tenants_flows_and_vault_connections(
    admin_client, acme, onboarding, flows_api
):
    flows_api.add_vault_connection("Mailer", "SENDGRID")
    page = admin_client.get(PAGE, {"connection": acme.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert onboarding["id"] in html
    row = html[html.index(f'id="tenant-flow-{onboarding["id"]}"') :]
    assert "<strong>Onboarding</strong>" in row
    assert '<td data-label="Actions">2</td>' in row
    assert "Mailer" in html and "SENDGRID" in html
    mailer = html[html.index("<strong>Mailer</strong>") :]
    assert "pill-bad" in mailer[: mailer.index("</tr>")]
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_page_reads_the_database_the_same_number_of_times_for_many_flows(
    admin_client, acme, tenant_acme, flows_api
):
    def queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            assert admin_client.get(PAGE, {"connection": acme.pk}).status_code == 200
        return len(captured)

    flows_api.add_flow("First", onboarding_actions(tenant_acme["id"]))
    queries()  # the first one also fetches and stores the Management API token
    one = queries()
    for n in range(30):
        flows_api.add_flow(f"Flow {n}", onboarding_actions(tenant_acme["id"]))
    flows("pull", "--connection", ACME)
    assert queries() == one


def test_the_page_shows_auth0s_insufficient_scope_message(admin_client, auth0_standin, db):
    unscoped = limited_connection(auth0_standin, "Users only", ("read:users",))
    page = admin_client.get(PAGE, {"connection": unscoped.pk})
    assert page.status_code == 502
    assert "Insufficient scope, expected any of: read:flows_vault_connections" in (
        page.content.decode()
    )
    assert b"Traceback" not in page.content


def test_the_page_imports_ticked_flows_as_drafts(
    admin_client, admin_user, acme, onboarding, flows_api
):
    flows_api.add_flow("Left alone")
    response = admin_client.post(PAGE, {"connection": acme.pk, "flows": [onboarding["id"]]})
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?connection={acme.pk}"
    flow = Flow.objects.get()
    assert (flow.name, flow.owner, flow.auth0_id) == ("Onboarding", admin_user, onboarding["id"])
    page = admin_client.get(response["Location"]).content.decode()
    assert f"Imported Onboarding (id {flow.pk}) with 2 step(s)." in page
    assert f'href="/flows/{flow.pk}/"' in page


def test_the_page_reports_import_problems_and_imports_nothing(admin_client, acme, flows_api):
    staging = flows_api.add_vault_connection("Staging tenant", "AUTH0")
    staged = flows_api.add_flow("Staged", onboarding_actions(staging["id"]))
    page = admin_client.post(PAGE, {"connection": acme.pk, "flows": [staged["id"]]})
    assert page.status_code == 422
    assert "no auth0 connection named &#x27;Staging tenant&#x27;" in page.content.decode()
    assert not Flow.objects.exists()
    admin_client.post(PAGE, {"connection": acme.pk, "flows": [staged["id"]], "placeholders": "on"})
    assert Flow.objects.get().name == "Staged"


def test_the_page_asks_for_ticked_flows(admin_client, acme, onboarding):
    page = admin_client.post(PAGE, {"connection": acme.pk})
    assert page.status_code == 422
    assert "Tick the flows to import." in page.content.decode()


def test_the_import_form_needs_the_csrf_token(csrf_admin_client, acme, onboarding):
    form = {"connection": acme.pk, "flows": [onboarding["id"]]}
    assert csrf_admin_client.post(PAGE, form).status_code == 403
    csrf_admin_client.get(PAGE, {"connection": acme.pk})
    token = csrf_admin_client.cookies["csrftoken"].value
    response = csrf_admin_client.post(PAGE, {**form, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Flow.objects.filter(auth0_id=onboarding["id"]).exists()


def test_the_page_answers_a_rate_limited_tenant_after_waiting(
    admin_client, acme, onboarding, auth0_standin
):
    auth0_standin.rate_limited("/api/v2/flows/{id}", retry_after=0)
    page = admin_client.get(PAGE, {"connection": acme.pk})
    assert page.status_code == 200
    assert [r.reply.status for r in auth0_standin.requests_to("/api/v2/flows/{id}")] == [429, 200]
    assert onboarding["id"] in page.content.decode()
