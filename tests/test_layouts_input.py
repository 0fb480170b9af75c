"""Deploy CLI repositories that must not get in: hostile YAML, paths out of the repository,
files too large; and the vault connections a repository declares."""

import json
import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flows_app.interop import IMPORT_LIMIT
from flows_app.models import Flow
from tests.flow_helpers import connection
from vault_app.models import Connection

CORPUS = Path(__file__).parent / "corpus" / "deploy-cli"
GOOD_FLOWS = (
    "flows:\n"
    "  - name: Update KYC Name\n"
    "    body: ./flows/Update KYC Name.json\n"
    "flowVaultConnections:\n"
    "  - name: New Auth0 M2M Con\n"
    "    app_id: AUTH0\n"
    "    setup: '@@SETUP_CONFIG@@'\n"
)


def run(*args) -> str:
    out = StringIO()
    call_command("flows", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def yaml_repo(tmp_path: Path, tenant: str) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / "yaml", repo)
    (repo / "tenant.yaml").write_text(tenant)
    return repo


def refused(repo: Path, match: str, *, placeholders: bool = True) -> None:
    """The import fails with ``match`` in its message and leaves nothing behind."""
    before = Connection.objects.count()
    with pytest.raises(CommandError, match=match):
        run("import", *(["--placeholders"] if placeholders else []), repo)
    assert Flow.objects.count() == 0
    assert Connection.objects.count() == before


def test_a_tenant_yaml_with_a_python_tag_is_refused_and_nothing_runs(db, tmp_path):
    marker = tmp_path / "ran"
    tenant = f"tenant: !!python/object/apply:os.system ['touch {marker}']\n" + GOOD_FLOWS
    refused(yaml_repo(tmp_path, tenant), r"line 1, uses the YAML tag !!python/object/apply")
    assert not marker.exists()


def test_a_tenant_yaml_with_any_tag_is_refused_even_in_a_section_sluice_ignores(db, tmp_path):
    tenant = GOOD_FLOWS + "clients:\n  - name: !Ref ClientName\n"
    refused(yaml_repo(tmp_path, tenant), r"line 9, uses the YAML tag !Ref")


def test_anchors_that_expand_to_a_bomb_are_refused(db, tmp_path):
    lines = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for previous, current in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{current}: &{current} [" + ", ".join([f"*{previous}"] * 10) + "]")
    tenant = GOOD_FLOWS + "\n".join(lines) + "\n"
    refused(yaml_repo(tmp_path, tenant), r"anchors and aliases expand to more than 1,000,000")


def test_a_few_anchors_are_read(db, tmp_path):
    tenant = GOOD_FLOWS + "defaults: &defaults {app_type: spa}\nclients:\n  - *defaults\n"
    report = run("import", "--placeholders", yaml_repo(tmp_path, tenant))
    assert "Imported Update KYC Name" in report
    assert "it ignored defaults, clients." in report


def test_yaml_nested_too_deep_is_refused(db, tmp_path):
    tenant = GOOD_FLOWS + "deep: " + "[" * 5000 + "]" * 5000 + "\n"
    refused(yaml_repo(tmp_path, tenant), r"line 8, is nested deeper than 50")


def test_yaml_that_is_not_yaml_is_refused_with_where(db, tmp_path):
    refused(yaml_repo(tmp_path, GOOD_FLOWS + "bad: [unclosed\n"), r"is not valid YAML: .*line 9")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("../../etc/passwd", r"flows\[0\]: '../../etc/passwd' leads out of the repository"),
        ("/etc/passwd", r"flows\[0\]: '/etc/passwd' is not a path inside the repository"),
        ("./flows/missing.json", r"flows\[0\]: './flows/missing.json' is not a file"),
    ],
)
def test_a_body_path_that_leaves_the_repository_is_refused(db, tmp_path, body, match):
    tenant = GOOD_FLOWS.replace("./flows/Update KYC Name.json", body)
    refused(yaml_repo(tmp_path, tenant), match)


def test_a_body_that_is_a_link_out_of_the_repository_is_refused(db, tmp_path):
    secret = tmp_path / "outside.json"
    secret.write_text(json.dumps({"name": "Outside", "actions": []}))
    repo = yaml_repo(tmp_path, GOOD_FLOWS)
    os.symlink(secret, repo / "flows" / "link.json")
    tenant = GOOD_FLOWS.replace("./flows/Update KYC Name.json", "./flows/link.json")
    (repo / "tenant.yaml").write_text(tenant)
    refused(repo, r"flows\[0\]: './flows/link.json' leads out of the repository")


def test_a_directory_with_a_link_out_is_refused(db, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / "directory", repo)
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"name": "Outside", "actions": []}))
    os.symlink(outside, repo / "flows" / "Outside.json")
    refused(repo, r"flows/Outside.json' leads out of the repository")


def test_a_flows_folder_that_is_a_link_out_is_refused(db, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(CORPUS / "directory" / "flows", tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", repo / "flows")
    refused(repo, r"flows/ leads out of the repository")


def test_files_larger_than_the_import_limit_together_are_refused(db, tmp_path):
    repo = yaml_repo(tmp_path, GOOD_FLOWS)
    body = repo / "flows" / "Update KYC Name.json"
    document = json.loads(body.read_text())
    document["actions"][0]["params"]["changes"]["padding"] = "x" * IMPORT_LIMIT
    body.write_text(json.dumps(document))
    refused(repo, rf"larger than {IMPORT_LIMIT:,} bytes together, the import limit")


def test_one_bad_flow_keeps_the_good_ones_out(db, tmp_path):
    broken = "  - name: Broken\n    body: ./flows/broken.json\n"
    tenant = GOOD_FLOWS.replace("flowVaultConnections:", broken + "flowVaultConnections:")
    repo = yaml_repo(tmp_path, tenant)
    (repo / "flows" / "broken.json").write_text('{"name": "Broken", "actions": [')
    refused(repo, r"broken.json is not JSON")


# --- Declared vault connections ----------------------------------------------------------


def directory_repo(tmp_path: Path, *connections: dict) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / "directory", repo)
    for entry in connections:
        path = repo / "flow-vault-connections" / f"{entry['name']}.json"
        path.write_text(json.dumps(entry, indent=2) + "\n")
    return repo


def test_a_declared_connection_no_flow_uses_becomes_a_placeholder_on_request(db, tmp_path):
    spare = {"name": "Spare tenant", "app_id": "AUTH0", "setup": "@@SETUP_CONFIG@@"}
    repo = directory_repo(tmp_path, spare)
    refused(repo, r"The vault has no auth0 connection named 'Spare tenant'", placeholders=False)
    report = run("import", "--placeholders", repo)
    assert "Created the placeholder auth0 connection 'Spare tenant'" in report
    assert Connection.objects.get(name="Spare tenant").kind == "auth0"


def test_declared_connections_are_matched_by_name_and_kind(db, tmp_path, auth0_standin):
    connection("auth0", "new auth0 m2m con", auth0_standin.credentials())
    report = run("import", directory_repo(tmp_path))
    assert "Connections matched in the vault: New Auth0 M2M Con." in report
    assert Connection.objects.count() == 1


def test_a_declared_connection_of_another_kind_is_a_problem(db, tmp_path, twilio_standin):
    connection("twilio", "New Auth0 M2M Con", twilio_standin.credentials())
    refused(directory_repo(tmp_path), r"'New Auth0 M2M Con' is twilio, not auth0")


def test_connections_of_apps_sluice_lacks_are_noted_and_their_setup_never_read(db, tmp_path):
    secret = "sk_live_never_stored_81"
    slack = {"name": "Team chat", "app_id": "SLACK", "setup": {"type": "BEARER", "token": secret}}
    http = {"name": "CRM hook", "app_id": "HTTP", "setup": {"type": "BEARER", "token": secret}}
    twilio = {"name": "SMS", "app_id": "TWILIO", "setup": {"api_key": secret}}
    report = run("import", "--placeholders", directory_repo(tmp_path, slack, http, twilio))
    assert "Sluice has no SLACK connections, so 'Team chat' was not added to the vault" in report
    assert not Connection.objects.filter(name="Team chat").exists()
    for name, kind in (("SMS", "twilio"), ("CRM hook", "http")):
        placeholder = Connection.objects.get(name=name)
        assert (placeholder.kind, placeholder.config, placeholder.secrets_set) == (kind, {}, [])
        assert placeholder.secrets_token == ""


def test_a_connection_file_without_an_app_id_is_refused(db, tmp_path):
    refused(directory_repo(tmp_path, {"name": "Odd"}), r"Odd.json: a vault connection needs")
