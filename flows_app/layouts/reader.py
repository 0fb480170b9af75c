"""Flows in from a repository in one of the deploy CLI's layouts, all or nothing.

``read`` finds the layout of a path and reads its flows and declared vault connections
within one byte budget; ``import_found`` imports the flows as ``interop.import_documents``
does, and maps each declared connection to the vault connection of that name and kind, or
to an empty placeholder when asked. A connection's ``setup`` is never read: secrets stay out
of repositories and out of Sluice's imports.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from flows_app import interop
from flows_app.definition import Problem
from flows_app.layouts.files import Budget, LayoutError, inside, json_files, parse_json
from flows_app.layouts.shape import CONNECTIONS, DIRECTORY, FLOWS, KINDS, TENANT, YAML, Declared
from flows_app.layouts.yamltext import SECTIONS, YamlRefused, load
from vault_app.models import Connection

TENANT_FILES = (TENANT, "tenant.yml")


@dataclass
class Found:
    """What a repository holds: flow documents as (source, document), declared connections,
    and notes for the person importing (sections that were skipped, apps Sluice lacks)."""

    layout: str
    documents: list[tuple[str, Any]] = field(default_factory=list)
    connections: list[Declared] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read(path: Path, *, limit: int) -> Found | None:
    """The deploy CLI layout at ``path`` (a directory, or a tenant.yaml); None for neither."""
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return _read_yaml(path.parent, path, Budget(limit))
    if not path.is_dir():
        return None
    for name in TENANT_FILES:
        if (path / name).is_file():
            return _read_yaml(path, path / name, Budget(limit))
    if (path / FLOWS).is_dir() or (path / CONNECTIONS).is_dir():
        return _read_directory(path, Budget(limit))
    return None


def _read_directory(root: Path, budget: Budget) -> Found:
    found = Found(DIRECTORY)
    for file in json_files(root, FLOWS) if (root / FLOWS).is_dir() else []:
        found.documents.append((str(file), parse_json(budget.read(file, str(file)), str(file))))
    for file in json_files(root, CONNECTIONS) if (root / CONNECTIONS).is_dir() else []:
        entry = parse_json(budget.read(file, str(file)), str(file))
        found.connections.append(_declared(str(file), entry))
    return found


def _read_yaml(root: Path, file: Path, budget: Budget) -> Found:
    try:
        document = load(budget.read(file, str(file)), str(file))
    except YamlRefused as exc:
        raise LayoutError([str(exc)]) from None
    if not isinstance(document, dict):
        raise LayoutError([f"{file} is not a mapping of sections (tenant:, flows:, …)."])
    found = Found(YAML)
    ignored = [str(key) for key in document if key not in SECTIONS]
    if ignored:
        found.notes.append(
            f"{file}: Sluice reads only flows and flowVaultConnections; it ignored "
            f"{', '.join(ignored)}."
        )
    for index, entry in enumerate(_entries(document, "flows", file)):
        found.documents.append(_body(root, entry, f"{file}: flows[{index}]", budget))
    for index, entry in enumerate(_entries(document, "flowVaultConnections", file)):
        found.connections.append(_declared(f"{file}: flowVaultConnections[{index}]", entry))
    return found


def _entries(document: dict, key: str, file: Path) -> list:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise LayoutError([f"{file}: {key} must be a list."])
    return entries


def _body(root: Path, entry: Any, where: str, budget: Budget) -> tuple[str, Any]:
    """A flow of tenant.yaml: its body file, named as the entry says (as the deploy CLI does)."""
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(key), str) and entry[key] for key in ("name", "body")
    ):
        raise LayoutError([f"{where} needs a name and a body (the path of its JSON file)."])
    path = inside(root, entry["body"], where)
    body = parse_json(budget.read(path, str(path)), str(path))
    if not isinstance(body, dict):
        raise LayoutError([f"{path}: a flow is a JSON object."])
    body.pop("body", None)
    return str(path), {"name": entry["name"], **body}


def _declared(where: str, entry: Any) -> Declared:
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(key), str) and entry[key] for key in ("name", "app_id")
    ):
        raise LayoutError([f"{where}: a vault connection needs a name and an app_id."])
    return Declared(where, entry["name"], entry["app_id"])


def connection_notes(connections: Iterable[Declared]) -> list[str]:
    """What happens to declared connections of apps Sluice has no kind for."""
    return [
        f"{c.source}: Sluice has no {c.app_id} connections, so {c.name!r} was not added to the "
        "vault; steps that use it are kept as they came."
        for c in connections
        if c.app_id not in KINDS
    ]


@transaction.atomic
def import_found(
    documents: list[tuple[str, Any]],
    connections: list[Declared],
    *,
    owner=None,
    create_placeholders: bool = False,
) -> interop.ImportReport:
    """Import the flows and the declared connections Sluice has a kind for; all or nothing."""
    declared = sorted({(c.name, KINDS[c.app_id]) for c in connections if c.app_id in KINDS})
    vault = {name.lower(): kind for name, kind in Connection.objects.values_list("name", "kind")}
    problems = [
        Problem(f"The vault's connection {name!r} is {vault[name.lower()]}, not {kind}.")
        for name, kind in declared
        if vault.get(name.lower(), kind) != kind
    ]
    if problems:
        raise interop.ImportFailed(problems)
    missing = [(name, kind) for name, kind in declared if name.lower() not in vault]
    report = None
    try:
        report = interop.import_documents(
            documents, owner=owner, create_placeholders=create_placeholders
        )
    except interop.ImportFailed as exc:
        problems = list(exc.problems)
    if missing and not create_placeholders:
        problems += [Problem(_missing(name, kind)) for name, kind in missing]
    if problems or report is None:
        raise interop.ImportFailed(_unique(problems))
    _placeholders(report, missing)
    report.matched = sorted({*report.matched, *(n for n, k in declared if (n, k) not in missing)})
    return report


def _missing(name: str, kind: str) -> str:
    return (
        f"The vault has no {kind} connection named {name!r}: create it, or import with "
        "placeholders."
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    """The problems, each once: the flows and the declared files may name one connection."""
    kept: dict[str, Problem] = {}
    for problem in problems:
        kept.setdefault(str(problem), problem)
    return list(kept.values())


def _placeholders(report: interop.ImportReport, missing: list[tuple[str, str]]) -> None:
    """Placeholders for declared connections no flow used (the flows' own are made already)."""
    for name, kind in missing:
        if not Connection.objects.filter(name__iexact=name).exists():
            Connection.objects.create(kind=kind, name=name[:100])
            report.placeholders.append((name, kind))
