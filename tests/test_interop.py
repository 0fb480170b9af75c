"""Auth0's flow JSON in and out: the corpus imports, validates, runs and round-trips; exports
fit Auth0's schema key by key and hold no secret; imports are all or nothing."""

import json
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flows_app import interop, tasks
from flows_app.definition import validate
from flows_app.engine import execute
from flows_app.models import Flow, Run
from flows_app.services import create_flow, create_run, problems_of, publish_flow
from tests.flow_helpers import (
    auth0_connection,
    connection,
    email_provider,
    phone_provider,
    step,
)
from tests.standins.auth0 import new_user
from tests.vault_helpers import AUTH0_SECRET
from vault_app.models import Connection

CORPUS = Path(__file__).parent / "corpus" / "auth0"
FLOW_FILES = sorted((CORPUS / "flows").glob("*.json"))
TENANT = {"ac_1AcmeTenant0001": ("Acme tenant", "AUTH0")}


@pytest.fixture
def vendors(db, auth0_standin, smtp_standin, twilio_standin):
    """The vault as a team moving in from Auth0 would set it up, against the stand-ins."""
    smtp_standin.username = ""
    db_connection = "Username-Password-Authentication"
    for local_id, extra in (
        ("pro", {"name": "Pat", "app_metadata": {"plan": "pro"}}),
        ("new", {}),
    ):
        body = {"connection": db_connection, "user_id": local_id, **extra}
        user = new_user({**body, "email": f"{local_id}@example.com"}, "auth0")
        auth0_standin.users[user["user_id"]] = user
    auth0_connection(auth0_standin)
    email_provider(smtp_standin)
    phone_provider(twilio_standin)
    return auth0_standin, smtp_standin, twilio_standin


def import_file(path: Path, **options) -> Flow:
    [flow] = interop.import_documents(interop.read_path(path), **options).flows
    return flow


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
def test_each_corpus_flow_imports_validates_and_round_trips_byte_for_byte(vendors, path):
    flow = import_file(path, create_placeholders=True)
    problems = [p.message for p in problems_of(flow.draft)]
    assert all(m.startswith("Sluice does not support") for m in problems), problems
    exported = interop.export_document(flow, format=interop.AUTH0)
    assert interop.dump(exported) == path.read_text()
    assert interop.schema_problems(exported) == []


def test_the_corpus_covers_every_action_type_and_nested_branches():
    from flows_app.actions import ACTION_TYPES
    from flows_app.definition import walk

    seen, depth = set(), 0
    for path in FLOW_FILES:
        for placed in walk(json.loads(path.read_text())):
            seen.add(f"{placed.step['type']}/{placed.step['action']}")
            depth = max(depth, placed.depth)
    assert set(ACTION_TYPES) <= seen
    assert depth >= 2


def run_to_end(flow: Flow, data: dict) -> Run:
    run = execute(create_run(flow, trigger=Run.Trigger.TEST, input=data, draft=True))
    while run.status == Run.Status.WAITING:
        time.sleep(max(0.0, (run.resume_at - run.started_at).total_seconds()) or 0.05)
        claimed = tasks.claim(run.pk)
        run = execute(claimed) if claimed else Run.objects.get(pk=run.pk)
    return run


def test_the_welcome_flow_takes_both_branches_for_two_users(vendors):
    auth0, smtp, _ = vendors
    flow = import_file(CORPUS / "flows" / "welcome-by-plan.json")
    pro = run_to_end(flow, {"context": {"user": {"user_id": "auth0|pro"}}})
    assert pro.status == Run.Status.SUCCEEDED, pro.error
    assert pro.result == {"plan": "Sluice Pro", "tier": "pro"}
    free = run_to_end(flow, {"context": {"user": {"user_id": "auth0|new"}}})
    assert free.status == Run.Status.SUCCEEDED, free.error
    assert free.result == {"plan": "Sluice Free", "tier": "free"}
    assert auth0.users["auth0|new"]["app_metadata"] == {"plan": "free"}
    subjects = [m.message["Subject"] for m in smtp.messages]
    assert subjects == ["Welcome to Sluice Pro", "Welcome to Sluice Free"]
    skipped = {r.step_id for r in free.steps.filter(status="skipped")}
    assert skipped == {"pro_vars", "no_email"}


def test_the_signup_flow_runs_against_the_vendors(vendors):
    _, _, twilio = vendors
    flow = import_file(CORPUS / "flows" / "signup-follow-up.json")
    data = {
        "fields": {
            "email": "sam@example.com",
            "password": "Correct-Horse-9",
            "phone": "+15005550009",
            "code": "4821",
        }
    }
    run = run_to_end(flow, data)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert [m["body"] for m in twilio.messages] == ["Your code is 4821"]
    assert len(twilio.calls) == 1
    assert run.steps.get(step_id="create_user").output == "[redacted]"
    assert "Correct-Horse-9" not in json.dumps([r.output for r in run.steps.all()])


def test_unsupported_actions_are_kept_exactly_marked_and_block_publishing(vendors):
    path = CORPUS / "flows" / "vendor-integrations.json"
    report = interop.import_documents(interop.read_path(path))
    [flow] = report.flows
    assert report.unsupported == [
        ("Vendor integrations", "tell_team", "SLACK/POST_MESSAGE"),
        ("Vendor integrations", "find_customer", "STRIPE/FIND_CUSTOMERS"),
    ]
    assert any(
        "SLACK/POST_MESSAGE is not supported by Sluice yet" in line for line in report.lines()
    )
    original = json.loads(path.read_text())
    assert flow.draft["actions"] == original["actions"]
    with pytest.raises(Exception, match="Sluice does not support SLACK/POST_MESSAGE"):
        publish_flow(flow)


def test_a_flow_of_http_json_and_xml_steps_imports_runnable_and_runs(vendors, api_standin):
    path = CORPUS / "flows" / "partner-signup.json"
    text = path.read_text().replace("https://api.example.com", api_standin.base_url)
    connection(
        "http",
        "Partner API",
        {"setup": "BEARER", "hosts": api_standin.hosts, "token": "partner-token-55"},
    )
    report = interop.import_documents([("partner-signup.json", json.loads(text))])
    [flow] = report.flows
    assert report.unsupported == [] and problems_of(flow.draft) == []
    api_standin.answer("POST", "/invites/verify", 200, {"valid": True, "plan": "pro"})
    api_standin.answer(
        "PUT",
        "/soap/users",
        200,
        "<result><saved>yes</saved></result>",
        content_type="application/xml",
    )
    data = {
        "context": {"tenant": {"name": "acme"}, "user": {"user_id": "auth0|42"}},
        "fields": {
            "email": "sam@example.com",
            "invite_code": "X1",
            "name": "Sam",
            "soap_password": "soap-pass-123",
        },
    }
    run = run_to_end(flow, data)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.result == {"plan": "pro", "saved": "yes"}
    invite, soap = api_standin.requests
    assert invite.bearer == "partner-token-55" and invite.query == {"tenant": ["acme"], "v": ["2"]}
    assert soap.basic_auth == ("forms", "soap-pass-123")
    assert soap.raw.decode().endswith("<user>\n  <id>auth0|42</id>\n  <name>Sam</name>\n</user>")


def test_a_flow_as_auth0_s_api_returns_it_maps_tenant_connection_ids_to_names(vendors):
    path = CORPUS / "api-get-flow.json"
    with pytest.raises(interop.ImportFailed) as caught:
        import_file(path)  # without the tenant's list, ac_… names nothing in the vault
    assert "no auth0 connection named 'ac_1AcmeTenant0001'" in str(caught.value.problems[0])
    flow = import_file(path, tenant_connections=TENANT)
    assert flow.auth0_id == "af_7Yq2LmWelcome01"
    tenant = Connection.objects.get(name="Acme tenant")
    assert flow.draft["actions"][0]["params"]["connection_id"] == tenant.pk
    inner = flow.draft["actions"][1]["params"]["then"][0]
    assert inner["params"]["connection_id"] == tenant.pk
    exported = interop.export_document(flow, format=interop.AUTH0)
    assert set(exported) == {"name", "actions"}
    assert exported["actions"][0]["params"]["connection_id"] == "Acme tenant"


def test_missing_connections_are_listed_and_placeholders_hold_no_secret(db):
    path = CORPUS / "flows" / "welcome-by-plan.json"
    assert interop.missing_connections(interop.read_path(path)) == [("Acme tenant", "auth0")]
    with pytest.raises(interop.ImportFailed, match="Nothing|"):
        import_file(path)
    assert not Flow.objects.exists() and not Connection.objects.exists()
    report = interop.import_documents(interop.read_path(path), create_placeholders=True)
    assert report.placeholders == [("Acme tenant", "auth0")]
    placeholder = Connection.objects.get()
    assert placeholder.secrets_token == "" and placeholder.config == {}
    assert placeholder.missing_settings() == ["Tenant domain", "Client ID", "Client Secret"]
    data = {"context": {"user": {"user_id": "auth0|1"}}}
    run = execute(create_run(report.flows[0], trigger=Run.Trigger.TEST, input=data, draft=True))
    assert run.status == Run.Status.FAILED
    assert "The connection Acme tenant is not set up yet" in run.error


def test_an_import_is_all_or_nothing(vendors, tmp_path):
    good = (CORPUS / "flows" / "signup-follow-up.json").read_text()
    (tmp_path / "a.json").write_text(good)
    bad = json.loads(good)
    bad["actions"][0]["params"]["surprise"] = 1
    (tmp_path / "b.json").write_text(json.dumps(bad))
    with pytest.raises(interop.ImportFailed) as caught:
        interop.import_documents(interop.read_path(tmp_path))
    assert [str(p) for p in caught.value.problems] == [
        f"create_user: {tmp_path / 'b.json'}: Create user has no input 'surprise'."
    ]
    assert not Flow.objects.exists()


def test_sluice_exports_round_trip_with_test_data_and_no_secret(vendors):
    tenant = Connection.objects.get(name="Acme tenant")
    flow = create_flow(
        name="Local",
        description="Kept in git",
        definition={
            "schema_version": 1,
            "actions": [step("g", "GET_USER", connection_id=tenant.pk, user_id="auth0|pro")],
        },
        test_data={"context": {"user": {"user_id": "auth0|pro"}}},
    )
    first = interop.dump(interop.export_document(flow, format=interop.SLUICE))
    assert AUTH0_SECRET not in first and "127.0.0.1" not in first
    [copy] = interop.import_documents([("x", json.loads(first))]).flows
    assert copy.test_data == flow.test_data and copy.description == "Kept in git"
    assert interop.dump(interop.export_document(copy, format=interop.SLUICE)) == first


def test_schema_problems_name_the_key_auth0_would_reject():
    document = {
        "name": "x",
        "schema_version": 1,
        "actions": [
            {"id": "a", "type": "AUTH0", "action": "GET_USER", "params": {"user_id": "u"}},
            {
                "id": "b",
                "type": "FLOW",
                "action": "DELAY_FLOW",
                "params": {"number": 1, "units": "WEEKS"},
            },
        ],
    }
    problems = interop.schema_problems(document)
    assert (
        "(top): Additional properties are not allowed ('schema_version' was unexpected)" in problems
    )
    assert "actions/0/params: 'connection_id' is a required property" in problems
    assert any(p.startswith("actions/1/params/units: 'WEEKS' is not one of") for p in problems)


# The command line


def test_cli_export_import_export_gives_identical_files(vendors, tmp_path, capsys):
    for path in FLOW_FILES:
        import_file(path, create_placeholders=True)
    for fmt in ("auth0", "sluice"):
        first, second = tmp_path / f"{fmt}-1", tmp_path / f"{fmt}-2"
        call_command("flows", "export", "--format", fmt, "--all", str(first))
        Flow.objects.all().delete()
        call_command("flows", "import", str(first))
        call_command("flows", "export", "--format", fmt, "--all", str(second))
        names = sorted(p.name for p in first.iterdir())
        assert names == sorted(p.name for p in second.iterdir()) and len(names) == len(FLOW_FILES)
        for name in names:
            assert (first / name).read_bytes() == (second / name).read_bytes()
    out = capsys.readouterr().out
    assert "Imported Welcome by plan" in out and "Wrote" in out


def test_cli_reads_a_deploy_cli_directory_and_says_why_nothing_was_imported(db, capsys):
    with pytest.raises(CommandError) as caught:
        call_command("flows", "import", str(CORPUS))
    message = str(caught.value)
    assert message.startswith("Nothing was imported:")
    assert "no auth0 connection named 'Acme tenant'" in message
    assert not Flow.objects.exists()
    call_command("flows", "import", "--placeholders", str(CORPUS))
    assert Flow.objects.count() == len(FLOW_FILES)
    assert "Created the placeholder auth0 connection 'Acme tenant'" in capsys.readouterr().out


def test_cli_export_to_standard_output_and_errors(vendors, capsys):
    import_file(CORPUS / "flows" / "signup-follow-up.json")
    call_command("flows", "export", "--format", "auth0", "--flow", "Signup follow-up", "-")
    printed = capsys.readouterr().out
    assert printed == (CORPUS / "flows" / "signup-follow-up.json").read_text()
    with pytest.raises(CommandError, match="No flow is named 'Nope'"):
        call_command("flows", "export", "--flow", "Nope", "-")


def test_cli_export_of_all_flows_writes_the_others_when_one_does_not_fit(db, tmp_path):
    fine = {"id": "wait", "type": "FLOW", "action": "DELAY_FLOW"}
    for name, units in (("Alpha", "MINUTES"), ("Broken", "WEEKS"), ("Gamma", "HOURS")):
        step = {**fine, "params": {"number": 1, "units": units}}
        create_flow(name=name, definition={"schema_version": 1, "actions": [step]})

    with pytest.raises(CommandError) as caught:
        call_command("flows", "export", "--format", "auth0", "--all", str(tmp_path))

    assert caught.value.returncode == 4
    message = str(caught.value)
    assert "2 flow(s) exported; these were not:" in message
    assert "Broken (id " in message and "actions/0/params/units: 'WEEKS'" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Alpha.json", "Gamma.json"]


def test_cli_export_when_no_flow_fits_exports_nothing(db, tmp_path):
    step = {"id": "wait", "type": "FLOW", "action": "DELAY_FLOW"}
    step["params"] = {"number": 1, "units": "WEEKS"}
    create_flow(name="Broken", definition={"schema_version": 1, "actions": [step]})

    with pytest.raises(CommandError, match="Nothing was exported") as caught:
        call_command("flows", "export", "--format", "auth0", "--all", str(tmp_path / "out"))

    assert caught.value.returncode == 1
    assert not (tmp_path / "out").exists()


# The web pages


def test_export_buttons_download_both_formats(vendors, viewer_client):
    flow = import_file(CORPUS / "flows" / "welcome-by-plan.json")
    page = viewer_client.get(f"/flows/{flow.pk}/").content.decode()
    assert "Export for Auth0" in page and "Export for Sluice" in page
    auth0 = viewer_client.get(f"/flows/{flow.pk}/export/?format=auth0")
    assert auth0["Content-Disposition"] == 'attachment; filename="welcome-by-plan.auth0.json"'
    assert auth0.content.decode() == (CORPUS / "flows" / "welcome-by-plan.json").read_text()
    sluice = json.loads(viewer_client.get(f"/flows/{flow.pk}/export/?format=sluice").content)
    assert sluice["format"] == "sluice-flow" and "test_data" in sluice
    assert viewer_client.get(f"/flows/{flow.pk}/export/?format=xml").status_code == 400


def test_web_import_of_several_files_lists_missing_connections_then_makes_placeholders(
    admin_client,
):
    with ExitStack() as stack:
        files = [stack.enter_context(open(path, "rb")) for path in FLOW_FILES]
        response = admin_client.post("/flows/import/", {"uploads": files})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was imported" in page and "Connections the vault lacks" in page
    assert "Acme tenant" in page and "Create empty placeholder connections" in page
    kept = response.context["form"].initial["text"]
    assert len(json.loads(kept)) == len(FLOW_FILES)  # the files' flows wait in the text box
    done = admin_client.post("/flows/import/", {"text": kept, "placeholders": "on"}, follow=True)
    assert Flow.objects.count() == len(FLOW_FILES)
    text = done.content.decode()
    assert "Created the placeholder auth0 connection" in text
    assert "Created the placeholder http connection" in text
    assert "SLACK/POST_MESSAGE is not supported by Sluice yet" in text


def test_editors_cannot_make_placeholders(editor_client):
    text = (CORPUS / "flows" / "welcome-by-plan.json").read_text()
    response = editor_client.post("/flows/import/", {"text": text, "placeholders": "on"})
    assert response.status_code == 422
    assert "Ask an admin to create them" in response.content.decode()
    assert not Connection.objects.exists()


def test_validate_accepts_every_corpus_flow_except_unsupported_steps(db):
    for path in FLOW_FILES:
        document = json.loads(path.read_text())
        problems = validate({"actions": document["actions"]}, connection_kinds=None)
        assert all(
            "does not exist" in p.message
            or "Sluice does not support" in p.message
            or "Choose a connection" in p.message
            for p in problems
        ), path


def test_the_editor_marks_an_unsupported_step_and_shows_it_as_it_came(vendors, editor_client):
    flow = import_file(CORPUS / "flows" / "vendor-integrations.json")
    page = editor_client.get(f"/flows/{flow.pk}/edit/").content.decode()
    assert "Not supported yet: SLACK/POST_MESSAGE" in page
    assert "Not supported yet: STRIPE/FIND_CUSTOMERS" in page
    inspector = editor_client.get(f"/flows/{flow.pk}/edit/?step=tell_team").content.decode()
    assert "Sluice does not support SLACK/POST_MESSAGE yet" in inspector
    assert "New signup: {{ fields.email }}" in inspector
