"""Flows out in the deploy CLI's layouts: relative path → text, ready for disk or a zip."""

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from flows_app import interop
from flows_app.definition import all_steps, connection_kind
from flows_app.layouts import yamltext
from flows_app.layouts.files import LayoutError
from flows_app.layouts.jsontext import flow_in_auth0_order, stringify
from flows_app.layouts.names import directory_file, yaml_file
from flows_app.layouts.shape import (
    APP_IDS,
    CONNECTIONS,
    DIRECTORY,
    FLOWS,
    SETUP,
    TENANT,
    js_order,
)
from flows_app.models import Flow


def export_files(flows: Iterable[Flow], layout: str) -> dict[str, str]:
    """The files of ``layout`` for these flows' drafts and the connections they use.

    Raises LayoutError when a flow does not fit Auth0's schema, or when two flows (or two
    connections) would share a file, as the deploy CLI refuses them too."""
    documents = _documents(list(flows))
    connections = _connections(documents)
    if layout == DIRECTORY:
        files = _directory(documents, connections)
    else:
        files = _yaml(documents, connections)
    _check_unique([path for path, _ in files])
    return dict(sorted(files))


def _documents(flows: list[Flow]) -> list[dict[str, Any]]:
    documents, problems = [], []
    for flow in flows:
        document = interop.export_document(flow, format=interop.AUTH0)
        problems += [f"{flow.name}: {p}" for p in interop.schema_problems(document)]
        if any(ord(ch) < 32 for ch in flow.name):
            problems.append(f"{flow.name!r}: a name with line breaks or tabs cannot be a file.")
        documents.append(flow_in_auth0_order(document))
    if problems:
        raise LayoutError(problems)
    return documents


def _connections(documents: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(name, app_id) of every connection the flows name, in the deploy CLI's order."""
    found: dict[str, set[str]] = {}
    for step in (s for document in documents for s in all_steps(document)):
        params = step.get("params")
        name = params.get("connection_id") if isinstance(params, dict) else None
        kind = connection_kind(step)
        # A step Sluice does not support names its app in its type (HTTP, TWILIO, SLACK…).
        app_id = APP_IDS.get(kind or "") if kind else str(step.get("type") or "")
        if isinstance(name, str) and name and app_id and app_id != "FLOW":
            found.setdefault(name, set()).add(app_id)
    clashes = [f"{n}: used as {' and '.join(sorted(a))}" for n, a in found.items() if len(a) > 1]
    if clashes:
        raise LayoutError([f"Two kinds of connection share the name {c}." for c in clashes])
    return sorted(((n, a.pop()) for n, a in found.items()), key=lambda item: js_order(item[0]))


def _connection(name: str, app_id: str) -> dict[str, str]:
    return {"name": name, "app_id": app_id, "setup": SETUP}


def _directory(documents: list[dict], connections: list[tuple[str, str]]) -> list[tuple[str, str]]:
    files = [(f"{FLOWS}/{directory_file(d['name'])}", stringify(d) + "\n") for d in documents]
    files += [
        (f"{CONNECTIONS}/{directory_file(name)}", stringify(_connection(name, app_id)) + "\n")
        for name, app_id in connections
    ]
    unreadable = [path for path, _ in files if PurePosixPath(path).suffix != ".json"]
    if unreadable:
        raise LayoutError(
            [
                f"The deploy CLI would write {p}, a file it does not read back: rename it."
                for p in unreadable
            ]
        )
    return files


def _yaml(documents: list[dict], connections: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # The deploy CLI writes these bodies without a final newline.
    files = [(f"{FLOWS}/{yaml_file(d['name'])}", stringify(d)) for d in documents]
    names = sorted((d["name"] for d in documents), key=js_order)
    sections = {
        "flows": [{"name": n, "body": f"./{FLOWS}/{yaml_file(n)}"} for n in names],
        "flowVaultConnections": [_connection(n, a) for n, a in connections],
    }
    return [(TENANT, yamltext.dump(sections)), *files]


def _check_unique(paths: list[str]) -> None:
    """Two names that end in one file (or in two that differ only in case) are refused."""
    seen: set[str] = set()
    problems = []
    for path in paths:
        if path.lower() in seen:
            problems.append(f"Two flows or connections would both be written to {path}.")
        seen.add(path.lower())
    if problems:
        raise LayoutError(problems)
