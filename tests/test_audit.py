"""The audit log: an entry for every change an operator is asked about, from the browser and
the command line; the Audit page, its filters and exports; entries that cannot change."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts_app.models import User
from audit_app.models import Entry, EntryIsFinal
from audit_app.records import COMMAND_LINE, record
from flows_app.models import Flow, FlowToken
from flows_app.services import create_flow
from tests.conftest import PASSWORD
from tests.flow_helpers import auth0_connection, connection, step
from tests.vault_helpers import SECRETS, auth0_form, smtp_form
from vault_app.models import Connection

ADDRESS = "203.0.113.9"


def last(verb: str) -> Entry:
    return Entry.objects.filter(verb=verb).latest("at", "id")


def from_address(client: Client) -> Client:
    client.defaults["REMOTE_ADDR"] = ADDRESS
    return client


def no_secret_in_the_log():
    text = json.dumps([list(Entry.objects.values())], default=str)
    for secret in (*SECRETS, PASSWORD, "hunter2-wrong"):
        assert secret not in text


@pytest.fixture
def admin(admin_client):
    return from_address(admin_client)


@pytest.fixture
def tenant(db):
    return connection("auth0", "Acme tenant", auth0_form(name="Acme tenant"))


def a_flow(tenant, name="Welcome", owner=None):
    user_step = step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|1")
    return create_flow(
        name=name, owner=owner, definition={"schema_version": 1, "actions": [user_step]}
    )


# The vault ----------------------------------------------------------------------------------


def test_vault_connections_created_edited_tested_and_deleted(admin, admin_user):
    assert admin.post("/vault/new/?kind=smtp", smtp_form()).status_code == 302
    made = Connection.objects.get()
    entry = last("connection.created")
    assert (entry.actor, entry.actor_label, entry.kind) == (
        admin_user,
        admin_user.email,
        "connection",
    )
    assert (entry.object_id, entry.object_label, entry.address) == (
        str(made.pk),
        "Mail relay",
        ADDRESS,
    )
    assert entry.changes == {"kind": "smtp"}

    edited = smtp_form(name="Mail relay EU", host="smtp.eu.example.com", password="new-pass-Tr8w")
    assert admin.post(f"/vault/{made.pk}/", edited).status_code == 302
    entry = last("connection.edited")
    assert entry.changes == {"changed": ["host", "name", "password"]}
    assert entry.object_label == "Mail relay EU"

    kept = smtp_form(name="Mail relay EU", host="smtp.eu.example.com", password="")
    admin.post(f"/vault/{made.pk}/", kept)  # the password is kept: nothing changed
    assert Entry.objects.filter(verb="connection.edited").count() == 1

    admin.post(f"/vault/{made.pk}/test/")
    assert last("connection.tested").changes == {"result": "failed"}

    assert admin.post(f"/vault/{made.pk}/delete/").status_code == 302
    entry = last("connection.deleted")
    assert (entry.object_id, entry.object_label) == (str(made.pk), "Mail relay EU")
    assert "new-pass-Tr8w" not in json.dumps(list(Entry.objects.values("changes")))
    no_secret_in_the_log()


def test_save_and_test_records_both(admin, auth0_standin):
    form = auth0_form(
        domain=auth0_standin.domain,
        client_id=auth0_standin.client_id,
        client_secret=auth0_standin.client_secret,
        then="test",
    )
    admin.post("/vault/new/?kind=auth0", form)
    assert last("connection.created").object_label == "Acme tenant"
    assert last("connection.tested").changes == {"result": "passed"}
    assert auth0_standin.client_secret not in json.dumps(list(Entry.objects.values()), default=str)


def test_provider_choices(admin):
    admin.post("/vault/new/?kind=smtp", smtp_form())
    admin.post("/vault/new/?kind=smtp", smtp_form(name="Backup relay"))
    first, backup = Connection.objects.order_by("pk")
    admin.post("/vault/providers/", {"email": first.pk})
    admin.post("/vault/providers/", {"email": backup.pk})
    admin.post("/vault/providers/", {"email": backup.pk})  # unchanged: no entry
    entries = list(Entry.objects.filter(verb="provider.chosen").order_by("id"))
    assert [e.changes for e in entries] == [
        {"connection": {"from": None, "to": "Mail relay"}},
        {"connection": {"from": "Mail relay", "to": "Backup relay"}},
    ]
    assert entries[0].object_label == "Email provider"


def test_rotating_the_vault_keys_is_recorded_as_the_command_line(settings, tenant):
    from cryptography.fernet import Fernet

    settings.VAULT_KEYS = [Fernet.generate_key().decode(), *settings.VAULT_KEYS]
    call_command("rotate_vault_keys", stdout=io.StringIO())
    entry = last("vault.keys_rotated")
    assert (entry.actor, entry.actor_label, entry.address) == (None, COMMAND_LINE, None)
    assert entry.changes["connections"] == 1


# People and tokens ----------------------------------------------------------------------------


def test_people_added_roles_changed_and_sign_in_stopped(admin, admin_user):
    form = {"email": "new@example.com", "name": "New", "role": "viewer", "password": "x8#Lq2!vR9p"}
    assert admin.post("/people/", form).status_code == 302
    person = User.objects.get(email="new@example.com")
    assert last("person.added").changes == {"role": "viewer"}
    assert last("person.added").object_label == "new@example.com"

    admin.post(f"/people/{person.pk}/", {"role": "editor", "is_active": "on"})
    assert last("person.role_changed").changes == {"role": {"from": "viewer", "to": "editor"}}
    admin.post(f"/people/{person.pk}/", {"role": "editor"})
    entry = last("person.sign_in_stopped")
    assert (entry.object_id, entry.actor) == (str(person.pk), admin_user)
    admin.post(f"/people/{person.pk}/", {"role": "editor", "is_active": "on"})
    assert last("person.sign_in_allowed").object_label == "new@example.com"
    assert "x8#Lq2!vR9p" not in json.dumps(list(Entry.objects.values("changes")))


def test_people_added_from_the_command_line(db):
    call_command("adduser", "cli@example.com", "--role", "editor", stdout=io.StringIO())
    entry = last("person.added")
    assert (entry.actor_label, entry.object_label, entry.changes) == (
        COMMAND_LINE,
        "cli@example.com",
        {"role": "editor"},
    )
    call_command("ensure_admin", stdout=io.StringIO())
    assert last("person.added").changes == {"role": "admin"}


def test_a_password_change_is_recorded_without_the_password(editor_user, editor_client):
    form = {
        "old_password": PASSWORD,
        "new_password1": "Tz9!wq4Lmn2",
        "new_password2": "Tz9!wq4Lmn2",
    }
    assert editor_client.post("/account/password/", form).status_code == 302
    entry = last("person.password_changed")
    assert entry.actor == editor_user and entry.object_id == str(editor_user.pk)
    assert "Tz9!wq4Lmn2" not in json.dumps(list(Entry.objects.values()), default=str)


def test_api_tokens_created_and_revoked(admin, tenant):
    flow = a_flow(tenant)
    page = admin.post(f"/flows/{flow.pk}/tokens/", {"name": "Signup service"}).content.decode()
    token = FlowToken.objects.get()
    entry = last("token.created")
    assert entry.object_id == str(token.pk) and entry.object_label.startswith(
        "Signup service (slt_"
    )
    assert entry.changes == {"flow": f"Welcome (#{flow.pk})"}
    shown = page.split('class="token-once"')[1].split("<")[0].split(">")[1]
    everything = json.dumps(list(Entry.objects.values()), default=str)
    assert shown.startswith("slt_") and shown not in everything
    admin.post(f"/flows/{flow.pk}/tokens/{token.pk}/revoke/")
    assert last("token.revoked").object_id == str(token.pk)


# Flows --------------------------------------------------------------------------------------


def test_flows_created_renamed_duplicated_published_restored_and_deleted(admin, tenant):
    admin.post("/flows/new/", {"name": "Welcome"})
    flow = Flow.objects.get()
    assert last("flow.created").object_label == "Welcome"
    flow.draft["actions"] = a_flow(tenant, "scratch").draft["actions"]
    flow.save()

    admin.post(f"/flows/{flow.pk}/rename/", {"name": "Welcome users", "description": "Hi"})
    assert last("flow.renamed").changes == {
        "name": {"from": "Welcome", "to": "Welcome users"},
        "description": "changed",
    }
    admin.post(f"/flows/{flow.pk}/duplicate/")
    entry = last("flow.duplicated")
    assert entry.object_label == "Welcome users (copy)"
    assert entry.changes == {"copy_of": f"Welcome users (#{flow.pk})"}

    admin.post(f"/flows/{flow.pk}/edit/publish/")
    assert last("flow.published").changes == {"version": 1}
    admin.post(f"/flows/{flow.pk}/edit/publish/")  # nothing changed: no version, no entry
    assert Entry.objects.filter(verb="flow.published").count() == 1
    admin.post(f"/flows/{flow.pk}/versions/1/restore/")
    assert last("flow.restored").changes == {"version": 1}

    admin.post(f"/flows/{flow.pk}/delete/")
    entry = last("flow.deleted")
    assert (entry.object_id, entry.object_label) == (str(flow.pk), "Welcome users")
    assert not Flow.objects.filter(pk=flow.pk).exists()


def test_flows_imported_from_the_browser_and_the_command_line(admin, tenant, tmp_path):
    document = {"name": "Imported", "actions": [], "format": "sluice-flow", "schema_version": 1}
    admin.post("/flows/import/", {"text": json.dumps(document)})
    entry = last("flow.imported")
    assert (entry.object_label, entry.changes) == ("Imported", {"source": "upload", "steps": 0})

    (tmp_path / "cli.json").write_text(json.dumps({**document, "name": "From a file"}))
    call_command("flows", "import", str(tmp_path / "cli.json"), stdout=io.StringIO())
    entry = last("flow.imported")
    assert (entry.actor_label, entry.object_label) == (COMMAND_LINE, "From a file")


def test_pulls_from_the_page_and_the_command_line_and_pushes(admin, auth0_standin):
    from tests.standins.auth0_flows import FLOW_SCOPES

    auth0_standin.clients[auth0_standin.client_id].scopes += FLOW_SCOPES
    flows_api = auth0_standin.flows_api
    acme = auth0_connection(auth0_standin, "Acme tenant")
    tenant_acme = flows_api.add_vault_connection("Acme tenant", "AUTH0")
    actions = [step("get_user", "GET_USER", connection_id=tenant_acme["id"], user_id="auth0|1")]
    onboarding = flows_api.add_flow("Onboarding", actions)
    offboarding = flows_api.add_flow("Offboarding", actions)

    admin.post("/flows/pull/", {"connection": acme.pk, "flows": [onboarding["id"]]})
    entry = last("flow.pulled")
    assert entry.object_label == "Onboarding" and entry.address == ADDRESS
    assert entry.changes == {"tenant": "Acme tenant", "steps": 1, "auth0_id": onboarding["id"]}

    out = io.StringIO()
    call_command(
        "flows", "pull", "--connection", "Acme tenant", "--flow", offboarding["id"], stdout=out
    )
    entry = last("flow.pulled")
    assert (entry.actor_label, entry.object_label) == (COMMAND_LINE, "Offboarding")

    flow = Flow.objects.get(name="Onboarding")
    flow.name = "Onboarding v2"
    flow.save()
    call_command("flows", "push", "--connection", "Acme tenant", str(flow.pk), stdout=out)
    entry = last("flow.pushed")
    assert (entry.actor_label, entry.object_id) == (COMMAND_LINE, str(flow.pk))
    assert entry.changes == {
        "tenant": "Acme tenant",
        "auth0_id": onboarding["id"],
        "created": False,
    }
    assert auth0_standin.client_secret not in json.dumps(list(Entry.objects.values()), default=str)


def test_placeholder_connections_made_by_an_import_are_recorded(admin, db):
    actions = [step("get_user", "GET_USER", connection_id="Staging tenant", user_id="auth0|1")]
    document = {"name": "Staged", "actions": actions}
    admin.post("/flows/import/", {"text": json.dumps(document), "placeholders": "on"})
    entry = last("connection.created")
    assert entry.object_label == "Staging tenant"
    assert entry.changes == {"kind": "auth0", "placeholder": True}


# Sign-ins -------------------------------------------------------------------------------------


def test_failed_sign_ins_keep_the_typed_email_never_the_password(db, admin_user):
    client = from_address(Client())
    client.post("/login/", {"username": "ADA@example.com", "password": "hunter2-wrong"})
    client.post("/login/", {"username": "nobody@example.com", "password": "hunter2-wrong"})
    first, second = Entry.objects.filter(verb="sign_in.failed").order_by("id")
    assert (first.actor, first.actor_label, first.kind) == (None, "anonymous", "sign-in")
    assert (first.object_label, first.address) == ("ADA@example.com", ADDRESS)
    assert second.object_label == "nobody@example.com"
    client.post("/login/", {"username": "ada@example.com", "password": PASSWORD})
    assert Entry.objects.filter(verb="sign_in.failed").count() == 2
    no_secret_in_the_log()


# The Audit page ---------------------------------------------------------------------------------


@pytest.fixture
def some_entries(db, admin_user, tenant):
    record(admin_user, "connection.edited", tenant, {"changed": ["client_secret"]})
    record(COMMAND_LINE, "flow.imported", a_flow(tenant, "Payroll"), {"steps": 1})
    old = record(None, "sign_in.failed", None)
    Entry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=40))


def test_only_admins_read_the_audit_log(editor_client, viewer_client, some_entries):
    for client in (editor_client, viewer_client):
        assert client.get("/audit/").status_code == 403
        assert client.get("/audit/export.csv").status_code == 403
    assert Client().get("/audit/").status_code == 302
    assert b'href="/audit/"' not in editor_client.get("/flows/").content


def test_a_long_log_pages_and_the_pages_keep_the_filters(admin_client, admin_user):
    for _ in range(51):  # one more than a page
        record(None, "sign_in.failed", None)
    first = admin_client.get("/audit/", {"kind": "sign-in"}).content.decode()
    assert "Page 1 of 2" in first
    assert 'rel="next" href="?kind=sign-in&amp;page=2">Older →</a>' in first
    assert 'rel="prev"' not in first
    second = admin_client.get("/audit/", {"kind": "sign-in", "page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert 'rel="prev" href="?kind=sign-in&amp;page=1">← Newer</a>' in second
    assert 'rel="next"' not in second


def test_the_page_lists_entries_and_filters_them(admin_client, some_entries, admin_user):
    page = admin_client.get("/audit/").content.decode()
    assert 'href="/audit/" aria-current="page"' in page
    assert "Edited a vault connection" in page and "client_secret" in page
    assert "Acme tenant" in page and "command line" in page
    assert "3 entries" in page

    def shown(**query):
        return admin_client.get("/audit/", query).content.decode()

    assert "1 entry matches" in shown(person="ADA@")
    assert "Payroll" in shown(person="command") and "Acme tenant" not in shown(person="command")
    assert "Imported a flow" in shown(kind="flow") and "Failed sign-in" not in shown(kind="flow")
    flow = Flow.objects.get(name="Payroll")
    assert "Payroll" in shown(object=f"#{flow.pk}") and "Payroll" in shown(object="payr")
    today = timezone.localdate().isoformat()
    recent = shown(**{"from": today})
    assert "2 entries match" in recent and "Failed sign-in" not in recent
    assert "Failed sign-in" in shown(to=(timezone.localdate() - timedelta(days=30)).isoformat())


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"kind": "secrets"},
            "Select a valid choice. secrets is not one of the available choices.",
        ),
        ({"from": "yesterday"}, "Enter a valid date."),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "The end date is before the start date."),
        ({"object": "#twelve"}, "After # comes an id: digits only, such as #12."),
        ({"person": "x" * 300}, "Ensure this value has at most 254 characters (it has 300)."),
    ],
)
def test_bad_filters_get_a_clear_form_error(admin_client, some_entries, query, message):
    response = admin_client.get("/audit/", query)
    assert response.status_code == 400
    page = response.content.decode()
    assert message.replace("'", "&#x27;") in page
    assert "Correct the filters marked above" in page
    for name, value in query.items():
        if name != "kind":  # a choice that is not on the list cannot be shown selected
            assert f'value="{value}"' in page  # what was typed stays in the form
    assert admin_client.get("/audit/export.csv", query).status_code == 400


def test_exports_as_csv_and_json_lines_with_the_filters(admin_client, some_entries):
    response = admin_client.get("/audit/export.csv", {"kind": "connection"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="sluice-audit-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["person"] == "ada@example.com" and rows[0]["verb"] == "connection.edited"
    assert json.loads(rows[0]["changes"]) == {"changed": ["client_secret"]}

    lines = b"".join(admin_client.get("/audit/export.jsonl").streaming_content).splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["verb"] for e in entries] == ["flow.imported", "connection.edited", "sign_in.failed"]
    assert entries[0]["person"] == COMMAND_LINE and entries[2]["person"] == "anonymous"


def test_csv_cells_that_a_spreadsheet_would_run_are_made_inert(admin_client, tenant, admin_user):
    record(admin_user, "flow.created", a_flow(tenant, '=HYPERLINK("http://evil.example")'))
    body = b"".join(admin_client.get("/audit/export.csv").streaming_content).decode()
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["object"] == '\'=HYPERLINK("http://evil.example")'


def test_entries_cannot_be_changed_or_deleted(some_entries):
    entry = Entry.objects.first()
    entry.object_label = "rewritten"
    with pytest.raises(EntryIsFinal):
        entry.save()
    with pytest.raises(EntryIsFinal):
        entry.delete()
    assert not Entry.objects.filter(object_label="rewritten").exists()
    from django.contrib import admin

    assert Entry not in admin.site._registry


def test_pruning_keeps_the_retention_period_and_leaves_an_entry(some_entries, settings):
    out = io.StringIO()
    call_command("prune_audit", "--days", "30", stdout=out)
    assert out.getvalue() == "Deleted 1 audit entry older than 30 day(s).\n"
    assert not Entry.objects.filter(verb="sign_in.failed").exists()
    assert last("audit.pruned").changes == {"days": 30, "deleted": 1}
    settings.AUDIT_RETENTION_DAYS = 0
    from audit_app.tasks import prune_audit

    assert prune_audit() == 0
    assert Entry.objects.count() == 3
