"""Flows in and out: Auth0's flow JSON and Sluice's export, from files, directories and tenants.

Two formats go out (``export_document``):

- ``auth0``: exactly what Auth0's ``POST /api/v2/flows`` accepts, ``{"name", "actions"}``,
  checked against ``schemas/auth0-flow.schema.json``. Every ``connection_id`` holds the vault
  connection's name, as Auth0's deploy CLI writes it.
- ``sluice``: the same actions plus ``format``, ``schema_version``, ``description``,
  ``test_data`` and the Auth0 flow id it came from.

Three shapes come in (``import_documents``): a Sluice export; a flow as Auth0's API returns
it (``GET /api/v2/flows/{id}``: ``id``, timestamps, connection ids ``ac_…``, which a pull
maps to names through the tenant's vault connections); and a file of a directory that
Auth0's deploy CLI writes (``flows/<name>.json``: name, actions, connection names). An
import is all or nothing. Connection names are matched to vault connections of the right
kind; missing ones stop the import unless placeholders (no secrets) are asked for. An
action Sluice does not support yet is kept exactly as it came and blocks publishing.

Files are written by ``dump``: sorted keys, two-space indent, a final newline, so export →
import → export gives the same bytes.
"""

import copy
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from django.conf import settings
from django.db import transaction

from flows_app.definition import (
    SCHEMA_VERSION,
    Problem,
    action_of,
    all_steps,
    connection_kind,
    steps_of,
    unsupported_message,
)
from flows_app.models import Flow
from flows_app.services import InvalidFlow, create_flow, problems_of
from vault_app.kinds import family
from vault_app.models import Connection

AUTH0 = "auth0"
SLUICE = "sluice"
FORMATS = (AUTH0, SLUICE)
SLUICE_FORMAT = "sluice-flow"
SCHEMA_PATH = Path(settings.BASE_DIR) / "schemas" / "auth0-flow.schema.json"
NAME_LIMIT = 150
AUTH0_FLOW_KEYS = {"id", "name", "actions", "created_at", "updated_at", "executed_at"}
SLUICE_KEYS = {"format", "schema_version", "name", "description", "actions", "test_data"}
SLUICE_KEYS |= {"auth0_id"}


class ImportFailed(InvalidFlow):
    """Nothing was imported; ``problems`` says why, naming the file, the step and the input."""


# --- Out -------------------------------------------------------------------------------------


def export_document(
    flow: Flow, *, format: str = AUTH0, definition: dict | None = None
) -> dict[str, Any]:
    """The flow (its draft, or ``definition``) as a document of ``format``; never a secret."""
    names = dict(Connection.objects.values_list("pk", "name"))
    actions = copy.deepcopy(steps_of(definition if definition is not None else flow.draft))
    for step in all_steps({"actions": actions}):
        if connection_kind(step):  # an unsupported step is kept exactly as it came
            params = step["params"]
            found = names.get(_int_or_none(params["connection_id"]) or 0)
            params["connection_id"] = found or params["connection_id"]
    if format == AUTH0:
        return {"name": flow.name, "actions": actions}
    document = {
        "format": SLUICE_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "name": flow.name,
        "description": flow.description,
        "actions": actions,
        "test_data": flow.test_data or {},
    }
    if flow.auth0_id:
        document["auth0_id"] = flow.auth0_id
    return document


def dump(document: Any) -> str:
    """The canonical text of a document: what files hold and what diffs compare."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def file_name(name: str) -> str:
    """A file name for a flow, as Auth0's deploy CLI makes them: the name, made safe."""
    safe = re.sub(r"[^\w\- .]+", "_", name).strip(" .") or "flow"
    return f"{safe[:120]}.json"


@cache
def auth0_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(auth0_schema())


def schema_problems(document: Any) -> list[str]:
    """Where a document breaks the Auth0 flow schema, key by key; [] when it fits."""
    errors = sorted(_schema_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in errors
    ]


# --- In --------------------------------------------------------------------------------------


@dataclass
class Incoming:
    """One document being imported: where it came from and its flow, not yet saved."""

    source: str
    name: str
    actions: list
    description: str = ""
    test_data: dict = field(default_factory=dict)
    auth0_id: str = ""


@dataclass
class ImportReport:
    """What an import brought in, for the person who asked for it."""

    flows: list[Flow] = field(default_factory=list)
    steps: dict[int, int] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)
    placeholders: list[tuple[str, str]] = field(default_factory=list)
    unsupported: list[tuple[str, str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [
            f"Imported {flow.name} (id {flow.pk}) with {self.steps[flow.pk]} step(s)."
            for flow in self.flows
        ]
        if self.matched:
            lines.append(f"Connections matched in the vault: {', '.join(sorted(self.matched))}.")
        for name, kind in self.placeholders:
            lines.append(
                f"Created the placeholder {kind} connection {name!r}: "
                "an admin fills in its settings in the vault."
            )
        for flow_name, step_id, key in self.unsupported:
            lines.append(
                f"{flow_name} · {step_id}: {key} is not supported by Sluice yet; the step was "
                "kept as it was and the flow cannot be published until it is replaced."
            )
        return lines


def read_path(path: Path) -> list[tuple[str, Any]]:
    """The JSON documents at ``path``: a file, or a directory as Auth0's deploy CLI writes
    it (``flows/*.json`` inside it, or ``*.json`` directly), sorted by file name."""
    if str(path) == "-":
        try:
            return [("standard input", json.loads(sys.stdin.read()))]
        except json.JSONDecodeError as exc:
            raise ImportFailed([Problem(f"Standard input is not JSON: {exc}.")]) from None
    if path.is_dir():
        inner = path / "flows"
        files = sorted((inner if inner.is_dir() else path).glob("*.json"))
        if not files:
            raise ImportFailed([Problem(f"{path} holds no .json flow files.")])
    else:
        files = [path]
    documents = []
    for file in files:
        try:
            documents.append((str(file), json.loads(file.read_text())))
        except OSError as exc:
            raise ImportFailed([Problem(f"Cannot read {file}: {exc.strerror}.")]) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportFailed([Problem(f"{file} is not JSON: {exc}.")]) from None
    return documents


def parse(source: str, document: Any) -> Incoming:
    """Read one document of any of the three shapes; raises ImportFailed naming the source."""
    if not isinstance(document, dict):
        raise ImportFailed([Problem(f"{source}: a flow is a JSON object.")])
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ImportFailed([Problem(f"{source}: the flow has no name.")])
    if len(name) > NAME_LIMIT:
        raise ImportFailed([Problem(f"{source}: the name is longer than {NAME_LIMIT}.")])
    actions = document.get("actions", [])
    if not isinstance(actions, list):
        raise ImportFailed([Problem(f"{source}: actions must be a list.")])
    if document.get("format") == SLUICE_FORMAT:
        return _parse_sluice(source, name, actions, document)
    unknown = set(document) - AUTH0_FLOW_KEYS
    if unknown:
        raise _unknown_keys(source, unknown)
    flow_id = document.get("id")
    return Incoming(source, name, copy.deepcopy(actions), auth0_id=str(flow_id or "")[:30])


def _parse_sluice(source: str, name: str, actions: list, document: dict) -> Incoming:
    unknown = set(document) - SLUICE_KEYS
    if unknown:
        raise _unknown_keys(source, unknown)
    version = document.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ImportFailed(
            [Problem(f"{source}: schema version {version!r} is not one Sluice knows.")]
        )
    test_data = document.get("test_data") or {}
    if not isinstance(test_data, dict):
        raise ImportFailed([Problem(f"{source}: test_data must be an object.")])
    return Incoming(
        source,
        name,
        copy.deepcopy(actions),
        description=str(document.get("description") or ""),
        test_data=test_data,
        auth0_id=str(document.get("auth0_id") or "")[:30],
    )


def _unknown_keys(source: str, keys: set[str]) -> ImportFailed:
    listed = ", ".join(sorted(keys))
    return ImportFailed([Problem(f"{source}: unknown key(s) {listed}; is this a flow file?")])


def missing_connections(
    documents: Iterable[tuple[str, Any]],
    tenant_connections: dict[str, tuple[str, str]] | None = None,
) -> list[tuple[str, str]]:
    """The connections, as (name, kind), that the documents use and the vault lacks."""
    incoming = [parse(source, document) for source, document in documents]
    needed = _needed_connections(incoming, tenant_connections or {})
    vault = _vault_by_name()
    return sorted((name, kind) for name, kind in needed if (name.lower(), kind) not in vault)


@transaction.atomic
def import_documents(
    documents: Iterable[tuple[str, Any]],
    *,
    owner=None,
    tenant_connections: dict[str, tuple[str, str]] | None = None,
    create_placeholders: bool = False,
) -> ImportReport:
    """Create a draft flow from each (source, document); all of them or none.

    ``tenant_connections`` maps a tenant's vault connection id (``ac_…``) to its (name,
    Auth0 app_id), for flows as Auth0's API returns them.
    """
    incoming = [parse(source, document) for source, document in documents]
    if not incoming:
        raise ImportFailed([Problem("There was no flow to import.")])
    report = ImportReport()
    needed = _needed_connections(incoming, tenant_connections or {})
    vault = _vault_by_name()
    missing = sorted({(n, k) for n, k in needed if (n.lower(), k) not in vault})
    if missing and not create_placeholders:
        raise ImportFailed(
            [
                Problem(
                    f"The vault has no {kind} connection named {name!r}: create it, or import "
                    "with placeholders."
                )
                for name, kind in missing
            ]
        )
    for name, kind in missing:
        vault[(name.lower(), kind)] = Connection.objects.create(kind=kind, name=name[:100]).pk
        report.placeholders.append((name, kind))
    report.matched = sorted({n for n, k in needed if (n, k) not in set(report.placeholders)})
    problems: list[Problem] = []
    for item in incoming:
        _map_connections(item, tenant_connections or {}, vault)
        definition = {"schema_version": SCHEMA_VERSION, "actions": item.actions}
        for step in all_steps(definition):
            if action_of(step) is None:
                key = f"{step.get('type')}/{step.get('action')}"
                report.unsupported.append((item.name, str(step.get("id")), key))
        problems += [
            Problem(f"{item.source}: {p.message}", p.step_id, p.input)
            for p in problems_besides_unsupported(definition)
        ]
        if problems:
            continue
        flow = create_flow(
            name=item.name.strip(),
            owner=owner,
            definition=definition,
            test_data=item.test_data,
            description=item.description,
        )
        if item.auth0_id:
            flow.auth0_id = item.auth0_id
            flow.save(update_fields=["auth0_id"])
        report.flows.append(flow)
        report.steps[flow.pk] = len(all_steps(definition))
    if problems:
        raise ImportFailed(problems)
    return report


def problems_besides_unsupported(definition: dict) -> list[Problem]:
    """A definition's problems, leaving out that some of its steps are not supported yet:
    such steps travel (import, export, push) exactly as they came."""
    kept = {unsupported_message(step) for step in all_steps(definition)}
    return [p for p in problems_of(definition) if p.message not in kept]


def _needed_connections(
    incoming: list[Incoming], tenant: dict[str, tuple[str, str]]
) -> set[tuple[str, str]]:
    needed = set()
    for item in incoming:
        for step in all_steps({"actions": item.actions}):
            found = _connection_ref(step, tenant)
            if found:
                needed.add(found)
    return needed


def _connection_ref(step: dict, tenant: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """(name, kind) of the vault connection a supported step names, if it names one."""
    kind = connection_kind(step)
    if kind is None:
        return None
    value = str(step["params"].get("connection_id") or "")
    name = tenant[value][0] if value in tenant else value
    return (name, kind) if name else None


def _vault_by_name() -> dict[tuple[str, str], int]:
    return {
        (name.lower(), family(kind)): pk
        for pk, name, kind in Connection.objects.values_list("pk", "name", "kind")
    }


def _map_connections(
    item: Incoming, tenant: dict[str, tuple[str, str]], vault: dict[tuple[str, str], int]
) -> None:
    for step in all_steps({"actions": item.actions}):
        found = _connection_ref(step, tenant)
        if found:
            step["params"]["connection_id"] = vault[(found[0].lower(), found[1])]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
