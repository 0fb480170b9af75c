"""Flows in git as Auth0's deploy CLI keeps them: its directory and YAML layouts, both ways.

The corpus under tests/corpus/deploy-cli holds the deploy CLI's own example flow and vault
connection as the deploy CLI writes them; Sluice imports them and writes them back byte for
byte, and a repository it exports into shows no difference in git.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from flows_app import interop, layouts
from flows_app.models import Flow
from flows_app.services import create_flow
from tests.flow_helpers import auth0_connection
from tests.vault_helpers import AUTH0_SECRET
from vault_app.models import Connection

CORPUS = Path(__file__).parent / "corpus" / "deploy-cli"
AUTH0_FLOWS = [
    Path(__file__).parent / "corpus" / "auth0" / "flows" / name
    for name in ("mixed-integrations.json", "signup-follow-up.json", "welcome-by-plan.json")
]
LONG_NAME = "Refunds: EU/UK? Check the order, map the tier and tell the customer service team"


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


def run(*args) -> str:
    """``manage.py flows …``: its standard output; CommandError when it fails."""
    from io import StringIO

    out = StringIO()
    call_command("flows", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def git(repo: Path, *args) -> str:
    command = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


def tiered_flow() -> Flow:
    """A flow with what the layouts must keep in order: an alias, an If/then holding a Map
    value whose cases have integer-like keys, and a name the deploy CLI must sanitise."""
    lookup = {
        "id": "tier",
        "alias": "Map the tier",
        "type": "FLOW",
        "action": "MAP_VALUE",
        "params": {
            "input": "{{ context.user.app_metadata.orders }}",
            "cases": {"b": "bronze", "10": "gold", "2": "silver"},
            "fallback": "none",
        },
    }
    check = {
        "id": "big",
        "type": "FLOW",
        "action": "BOOLEAN_CONDITION",
        "params": {
            "if": {"operator": "AND", "operands": [{"operator": "EXISTS", "operands": ["x"]}]},
            "then": [lookup],
            "else": [],
        },
    }
    return create_flow(name=LONG_NAME, definition={"schema_version": 1, "actions": [check]})


@pytest.fixture
def team(db, auth0_standin):
    """A Sluice installation with the Auth0 corpus flows, one of its own, and a secret."""
    auth0_connection(auth0_standin)
    documents = [doc for path in AUTH0_FLOWS for doc in interop.read_path(path)]
    interop.import_documents(documents, create_placeholders=True)
    tiered_flow()


@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_the_deploy_cli_example_imports_and_exports_byte_for_byte(db, tmp_path, layout):
    report = run("import", "--placeholders", CORPUS / layout)
    assert "Imported Update KYC Name" in report
    placeholder = Connection.objects.get(name="New Auth0 M2M Con")
    assert placeholder.kind == "auth0"
    [flow] = Flow.objects.all()
    assert flow.draft["actions"][0]["params"]["connection_id"] == placeholder.pk

    run("export", "--all", "--layout", layout, tmp_path)
    assert tree(tmp_path) == tree(CORPUS / layout)


@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_export_import_export_gives_the_same_bytes(team, tmp_path, layout):
    first, second = tmp_path / "first", tmp_path / "second"
    flows = Flow.objects.count()
    run("export", "--all", "--layout", layout, first)
    Flow.objects.all().delete()
    report = run("import", "--placeholders", first)
    assert report.count("Imported ") == flows
    run("export", "--all", "--layout", layout, second)
    assert tree(second) == tree(first)
    assert len([name for name in tree(first) if name.startswith("flows/")]) == flows


def test_the_directory_layout_holds_flows_and_the_connections_they_use(team, tmp_path):
    run("export", "--all", "--layout", "directory", tmp_path)
    files = tree(tmp_path)
    assert sorted(files) == [
        "flow-vault-connections/Acme tenant.json",
        "flow-vault-connections/ac_4SlackTeam.json",
        "flow-vault-connections/ac_9mX2crmHttp.json",
        "flows/Mixed integrations.json",
        f"flows/{LONG_NAME.replace(':', '-').replace('/', '-').replace('?', '-')}.json",
        "flows/Signup follow-up.json",
        "flows/Welcome by plan.json",
    ]
    connection = json.loads(files["flow-vault-connections/Acme tenant.json"])
    assert connection == {"name": "Acme tenant", "app_id": "AUTH0", "setup": "@@SETUP_CONFIG@@"}
    # Steps Sluice does not support name their app in their type.
    slack = json.loads(files["flow-vault-connections/ac_4SlackTeam.json"])
    assert slack["app_id"] == "SLACK"
    # A connection the vault has takes the app of its kind.
    http = json.loads(files["flow-vault-connections/ac_9mX2crmHttp.json"])
    assert http["app_id"] == "HTTP"
    assert all(AUTH0_SECRET.encode() not in text for text in files.values())


def test_keys_come_in_auth0s_order_and_values_in_alphabetical_order(team, tmp_path):
    run("export", "--flow", LONG_NAME, "--layout", "directory", tmp_path)
    [path] = (tmp_path / "flows").glob("*.json")
    text = path.read_text()
    assert text.startswith('{\n  "name": "Refunds: EU/UK? Check')
    assert text.index('"id": "big"') < text.index('"type": "FLOW"') < text.index('"params"')
    assert text.index('"if"') < text.index('"then"') < text.index('"else"')
    assert text.index('"input"') < text.index('"cases"') < text.index('"fallback"')
    # JavaScript writes integer-like keys first, in numeric order.
    assert text.index('"2": "silver"') < text.index('"10": "gold"') < text.index('"b": "bronze"')
    assert text.endswith("}\n")


def test_tenant_yaml_is_written_as_js_yaml_writes_it(team, tmp_path):
    run("export", "--all", "--layout", "yaml", tmp_path)
    file = LONG_NAME.replace(":", "-").replace("/", "-").replace("?", "-")
    assert (tmp_path / "tenant.yaml").read_text() == (
        "flows:\n"
        "  - name: Mixed integrations\n"
        "    body: ./flows/Mixed integrations.json\n"
        "  - name: >-\n"
        "      Refunds: EU/UK? Check the order, map the tier and tell the customer\n"
        "      service team\n"
        "    body: >-\n"
        f"      ./flows/{file.replace(' customer', chr(10) + '      customer')}.json\n"
        "  - name: Signup follow-up\n"
        "    body: ./flows/Signup follow-up.json\n"
        "  - name: Welcome by plan\n"
        "    body: ./flows/Welcome by plan.json\n"
        "flowVaultConnections:\n"
        "  - name: Acme tenant\n"
        "    app_id: AUTH0\n"
        "    setup: '@@SETUP_CONFIG@@'\n"
        "  - name: ac_4SlackTeam\n"
        "    app_id: SLACK\n"
        "    setup: '@@SETUP_CONFIG@@'\n"
        "  - name: ac_9mX2crmHttp\n"
        "    app_id: HTTP\n"
        "    setup: '@@SETUP_CONFIG@@'\n"
    )
    assert not (tmp_path / "flows" / "Welcome by plan.json").read_text().endswith("\n")


def repository(tmp_path: Path, layout: str) -> Path:
    """A git repository as a team keeps it: the deploy CLI's files and, for YAML, sections
    Sluice does not own, written by hand."""
    repo = tmp_path / "tenant"
    shutil.copytree(CORPUS / layout, repo)
    if layout == layouts.YAML:
        text = (
            (repo / "tenant.yaml")
            .read_text()
            .replace("name: New Auth0 M2M Con", "name: 'New Auth0 M2M Con'")
        )
        head = "# Auth0 Deploy CLI tenant\n\ntenant:\n  friendly_name: 'Acme'\n\n"
        tail = "\nforms:\n  - name: New Kyc form\n    body: ./forms/New Kyc form.json\n"
        (repo / "tenant.yaml").write_text(head + text + tail)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "The tenant as the deploy CLI exported it")
    return repo


@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_a_repository_imported_and_exported_again_has_no_difference_in_git(db, tmp_path, layout):
    repo = repository(tmp_path, layout)
    report = run("import", "--placeholders", repo)
    if layout == layouts.YAML:
        assert "it ignored tenant, forms." in report
    output = run("export", "--all", "--layout", layout, repo)
    assert "Wrote" not in output
    assert git(repo, "status", "--porcelain") == ""


def test_a_flow_exported_into_a_yaml_repository_leaves_the_rest_as_it_was(db, tmp_path):
    repo = repository(tmp_path, layouts.YAML)
    before = (repo / "tenant.yaml").read_text()
    run("import", "--placeholders", repo)
    create_flow(name="Audit sign-ups", definition={"schema_version": 1, "actions": []})
    run("export", "--flow", "Audit sign-ups", "--layout", "yaml", repo)
    after = (repo / "tenant.yaml").read_text()
    assert after.startswith(before[: before.index("flows:")])
    assert after.endswith(before[before.index("\nforms:") :])
    assert yaml.safe_load(after)["flows"] == [
        {"name": "Audit sign-ups", "body": "./flows/Audit sign-ups.json"},
        {"name": "Update KYC Name", "body": "./flows/Update KYC Name.json"},
    ]
    changed = git(repo, "status", "--porcelain", "-z").split("\0")
    assert sorted(changed) == ["", " M tenant.yaml", "?? flows/Audit sign-ups.json"]


@pytest.mark.parametrize(
    ("name", "directory_file", "yaml_file"),
    [
        ("New Auth0 M2M Con", "New Auth0 M2M Con.json", "New Auth0 M2M Con.json"),
        ('Refunds: EU/UK? "now" <a|b> *\\', "Refunds- EU-UK- -now- -a-b- --.json", None),
        ("Final.", "Final..json", "Final-.json"),
        ("..", "...json", "-.json"),
        ("tab\there", "tab-here.json", "tab-here.json"),
        ("lpt1", "-", "-.json"),
        ("com1.backup", "-", "-.json"),
        ("é" * 150, "é" * 127, "é" * 127 + ".json"),
    ],
)
def test_file_names_are_sanitised_as_the_deploy_cli_does(name, directory_file, yaml_file):
    from flows_app.layouts import names

    assert names.directory_file(name) == directory_file
    assert names.yaml_file(name) == (yaml_file or directory_file)


def test_a_flow_the_deploy_cli_could_not_read_back_is_not_exported(db, tmp_path):
    create_flow(name="CON", definition={"schema_version": 1, "actions": []})
    with pytest.raises(CommandError, match=r"flows/-, a file it does not read back"):
        run("export", "--all", "--layout", "directory", tmp_path)
    assert not tmp_path.joinpath("flows").exists()


def test_two_flows_that_would_share_a_file_are_not_exported(db, tmp_path):
    for name in ("Sign up / EU", "Sign up - EU"):
        create_flow(name=name, definition={"schema_version": 1, "actions": []})
    with pytest.raises(CommandError, match=r"both be written to flows/Sign up - EU.json"):
        run("export", "--all", "--layout", "directory", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_layouts_take_a_directory_and_auth0s_format(db):
    create_flow(name="Audit", definition={"schema_version": 1, "actions": []})
    with pytest.raises(CommandError, match="into a directory"):
        run("export", "--all", "--layout", "yaml", "-")
    with pytest.raises(CommandError, match="into a directory"):
        run("export", "--all", "--layout", "yaml", "--format", "sluice", "out")


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Update KYC Name", "Update KYC Name"),
        ("@@SETUP_CONFIG@@", "'@@SETUP_CONFIG@@'"),
        ("yes", "'yes'"),
        ("2024", "'2024'"),
        ("0x1F", "'0x1F'"),
        ("1.5", "'1.5'"),
        ("null", "'null'"),
        ("2024-01-31", "'2024-01-31'"),
        ("1:30", "'1:30'"),
        ("a: b", "'a: b'"),
        ("a:b", "a:b"),
        ("a #b", "'a #b'"),
        ("a#b", "a#b"),
        ("it's", "it's"),
        ("'quoted'", "'''quoted'''"),
        ("- dash", "'- dash'"),
        ("ends:", "'ends:'"),
        ("[x]", "'[x]'"),
        ("x, [y]", "x, [y]"),
        ("a\u00a0b", '"a\\_b"'),
        ("", "''"),
    ],
)
def test_yaml_strings_are_quoted_as_js_yaml_quotes_them(text, written):
    from flows_app.layouts.yamltext import scalar

    assert scalar(text, level=3) == written
    assert yaml.safe_load(f"k: {written}") == {"k": text}


def test_json_is_written_as_javascript_writes_it():
    from flows_app.layouts.jsontext import stringify

    numbers = [1.0, -0.0, 1e-7, 0.000001, 1e21, 1.2345678901234568e20, 2.5, float("nan")]
    assert stringify(numbers).split() == [
        "[", "1,", "0,", "1e-7,", "0.000001,", "1e+21,", "123456789012345680000,", "2.5,",
        "null", "]",
    ]  # fmt: skip
    assert (
        stringify({"s": "é\u2028\x7f\x1f\n\ud800"}) == '{\n  "s": "é\u2028\x7f\\u001f\\n\\ud800"\n}'
    )
    assert stringify({"empty": {}, "list": []}) == '{\n  "empty": {},\n  "list": []\n}'


def test_an_export_never_writes_through_a_link(db, tmp_path):
    repo = repository(tmp_path, layouts.DIRECTORY)
    run("import", "--placeholders", repo)
    create_flow(name="Audit sign-ups", definition={"schema_version": 1, "actions": []})
    outside = tmp_path / "bashrc"
    outside.write_text("keep me\n")
    (repo / "flows" / "Audit sign-ups.json").symlink_to(outside)
    with pytest.raises(CommandError, match=r"Audit sign-ups.json is a link"):
        run("export", "--all", "--layout", "directory", repo)
    assert outside.read_text() == "keep me\n"


def test_a_tenant_yaml_sluice_cannot_read_stops_the_export_before_any_file(db, tmp_path):
    repo = repository(tmp_path, layouts.YAML)
    run("import", "--placeholders", repo)
    create_flow(name="Audit sign-ups", definition={"schema_version": 1, "actions": []})
    (repo / "tenant.yaml").write_text("tenant: !Ref Tenant\n" + (repo / "tenant.yaml").read_text())
    with pytest.raises(CommandError, match=r"tenant.yaml was left as it is: .* tag !Ref"):
        run("export", "--all", "--layout", "yaml", repo)
    assert git(repo, "status", "--porcelain") == " M tenant.yaml\n"
