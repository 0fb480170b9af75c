"""Flows in and out: Auth0's flow JSON and Sluice's export, from files, directories and tenants.

Two formats go out (``export_document``):

- ``auth0``: exactly what Auth0's ``POST /api/v2/flows`` accepts, ``{"name", "actions"}``,
  checked against ``schemas/auth0-flow.schema.json``. Every ``connection_id`` holds the vault
  connection's name, as Auth0's deploy CLI writes it.
- ``sluice``: the same actions plus ``format``, ``schema_version``, ``description``,
  ``test_data``, the Auth0 flow id it came from and the draft's pinned outputs (``pins``,
  when it has some; see ``flows_app.pins``). Auth0's format has no place for pins.

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
    nesting_problems,
    steps_of,
    unsupported_message,
    validate,
)
from flows_app.json_limits import JSON_DEPTH_LIMIT, TooDeep, depth_exceeds, has_nul, loads
from flows_app.models import Flow
from flows_app.pins import PINS, pin_problems, pins_of
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
SLUICE_KEYS |= {"auth0_id", PINS}
IMPORT_LIMIT = 1_000_000
"""Bytes of JSON one import takes, files and pasted text together (the CLI's --max-size)."""


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
    pins = pins_of(definition if definition is not None else flow.draft)
    if pins:
        document[PINS] = copy.deepcopy(pins)
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
    pins: Any = None


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


def too_large(limit: int = IMPORT_LIMIT) -> str:
    """What an import larger than ``limit`` bytes is told, wherever it came from."""
    return f"The flows to import are larger than {limit / 1_000_000:g} MB together."


def read_paths(paths: Iterable[Path], limit: int | None = IMPORT_LIMIT) -> list[tuple[str, Any]]:
    """The JSON documents at ``paths`` (see ``read_path``); more than ``limit`` bytes in all
    are refused before any is read (None: no limit)."""
    documents: list[tuple[str, Any]] = []
    files = [file for path in paths for file in _files_at(path)]
    try:
        sizes = [0 if str(file) == "-" else file.stat().st_size for file in files]
    except OSError as exc:
        raise ImportFailed([Problem(f"Cannot read {exc.filename}: {exc.strerror}.")]) from None
    if limit is not None and sum(sizes) > limit:
        raise ImportFailed([Problem(too_large(limit))])
    for file in files:
        if str(file) == "-":
            text = sys.stdin.read(-1 if limit is None else limit + 1)
            if limit is not None and len(text.encode()) > limit:
                raise ImportFailed([Problem(too_large(limit))])
            documents.append(("standard input", read_json(text, "Standard input")))
        else:
            documents.append((str(file), read_json(_text_of(file), str(file))))
    return documents


def read_path(path: Path) -> list[tuple[str, Any]]:
    """The JSON documents at ``path``: a file, or a directory as Auth0's deploy CLI writes
    it (``flows/*.json`` inside it, or ``*.json`` directly), sorted by file name; ``-`` is
    standard input."""
    return read_paths([path], limit=None)


def _files_at(path: Path) -> list[Path]:
    if str(path) == "-" or not path.is_dir():
        return [path]
    inner = path / "flows"
    files = sorted((inner if inner.is_dir() else path).glob("*.json"))
    if not files:
        raise ImportFailed([Problem(f"{path} holds no .json flow files.")])
    return files


def _text_of(file: Path) -> str:
    try:
        return file.read_text()
    except OSError as exc:
        raise ImportFailed([Problem(f"Cannot read {file}: {exc.strerror}.")]) from None
    except UnicodeDecodeError as exc:
        raise ImportFailed([Problem(f"{file} is not JSON: {exc}.")]) from None


def read_json(text: str | bytes, source: str) -> Any:
    """Parse a flow document's JSON; raises ImportFailed naming ``source`` if it is not."""
    try:
        return loads(text, source, limit=None)
    except TooDeep as exc:
        raise ImportFailed([Problem(str(exc))]) from None
    except json.JSONDecodeError as exc:
        raise ImportFailed([Problem(f"{source} is not JSON: {exc}.")]) from None


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
    _check_nesting(source, document, actions)
    if document.get("format") == SLUICE_FORMAT:
        return _parse_sluice(source, name, actions, document)
    unknown = set(document) - AUTH0_FLOW_KEYS
    if unknown:
        raise _unknown_keys(source, unknown)
    flow_id = document.get("id")
    return Incoming(source, name, copy.deepcopy(actions), auth0_id=str(flow_id or "")[:30])


def _check_nesting(source: str, document: dict, actions: list) -> None:
    """Refuse what nests too deep before anything copies or walks the document."""
    too_deep = nesting_problems({"actions": actions})
    if too_deep:
        raise ImportFailed(
            [Problem(f"{source}: {p.message}", p.step_id, p.input) for p in too_deep]
        )
    for key in ("id", "description", "auth0_id", "test_data"):
        if depth_exceeds(document.get(key)):
            raise ImportFailed([Problem(f"{source}: {str(TooDeep(key))}")])
    if depth_exceeds(document.get(PINS), JSON_DEPTH_LIMIT + 1):  # each pin may nest as deep
        raise ImportFailed([Problem(f"{source}: {str(TooDeep('A pinned output'))}")])
    if has_nul(document):
        raise ImportFailed(
            [Problem(f"{source}: text in a flow cannot contain NUL characters (\\u0000).")]
        )


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
        pins=copy.deepcopy(document.get(PINS)),
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


def import_documents(
    documents: Iterable[tuple[str, Any]],
    *,
    owner=None,
    tenant_connections: dict[str, tuple[str, str]] | None = None,
    create_placeholders: bool = False,
) -> ImportReport:
    """Create a draft flow from each (source, document); all of them or none.

    ``tenant_connections`` maps a tenant's vault connection id (``ac_…``) to its (name,
    Auth0 app_id), for flows as Auth0's API returns them. Reading and checking take the
    time and happen outside any transaction; the writes then take one short transaction,
    so a big import never holds the database's write lock for long.
    """
    incoming = [parse(source, document) for source, document in documents]
    if not incoming:
        raise ImportFailed([Problem("There was no flow to import.")])
    tenant = tenant_connections or {}
    needed = _needed_connections(incoming, tenant)
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
    # Until they exist, placeholders go by negative stand-in ids.
    planned = {**vault, **{(n.lower(), k): -i for i, (n, k) in enumerate(missing, start=1)}}
    report = ImportReport(placeholders=missing)
    report.matched = sorted({n for n, k in needed if (n, k) not in set(missing)})
    checked = [_checked(item, tenant, planned, report) for item in incoming]
    problems = [problem for _, _, found in checked for problem in found]
    if problems:
        raise ImportFailed(problems)
    used = {key: pk for key, pk in vault.items() if key in {(n.lower(), k) for n, k in needed}}
    _write(report, [(item, definition) for item, definition, _ in checked], owner, used)
    return report


def _checked(
    item: Incoming,
    tenant: dict[str, tuple[str, str]],
    planned: dict[tuple[str, str], int],
    report: ImportReport,
) -> tuple[Incoming, dict, list[Problem]]:
    """Map a flow's connections to vault ids and check it: (item, definition, problems)."""
    _map_connections(item, tenant, planned)
    definition = {"schema_version": SCHEMA_VERSION, "actions": item.actions}
    if item.pins is not None:
        definition[PINS] = item.pins
    for step in all_steps(definition):
        if action_of(step) is None:
            key = f"{step.get('type')}/{step.get('action')}"
            report.unsupported.append((item.name, str(step.get("id")), key))
    kinds = {pk: kind for (_, kind), pk in planned.items()}
    problems = [
        Problem(f"{item.source}: {p.message}", p.step_id, p.input)
        for p in problems_besides_unsupported(definition, connection_kinds=kinds)
    ]
    problems += [
        Problem(f"{item.source}: {message}", step_id or None)
        for step_id, message in pin_problems(definition)
    ]
    return item, definition, problems


@transaction.atomic
def _write(
    report: ImportReport,
    checked: list[tuple[Incoming, dict]],
    owner,
    used: dict[tuple[str, str], int],
) -> None:
    """Create the placeholders and the flows, in one transaction."""
    still = set(Connection.objects.filter(pk__in=used.values()).values_list("pk", flat=True))
    gone = sorted(name for (name, _), pk in used.items() if pk not in still)
    if gone:
        raise ImportFailed([Problem(f"The connection {gone[0]!r} was deleted meanwhile.")])
    real = {
        -i: Connection.objects.create(kind=kind, name=name[:100]).pk
        for i, (name, kind) in enumerate(report.placeholders, start=1)
    }
    for item, definition in checked:
        for step in all_steps(definition):
            if connection_kind(step) and step["params"]["connection_id"] in real:
                step["params"]["connection_id"] = real[step["params"]["connection_id"]]
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


def problems_besides_unsupported(
    definition: dict, connection_kinds: dict[int, str] | None = None
) -> list[Problem]:
    """A definition's problems, leaving out that some of its steps are not supported yet:
    such steps travel (import, export, push) exactly as they came."""
    kept = {unsupported_message(step) for step in all_steps(definition)}
    if connection_kinds is None:
        problems = problems_of(definition)
    else:
        problems = validate(definition, connection_kinds=connection_kinds)
    return [p for p in problems if p.message not in kept]


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
