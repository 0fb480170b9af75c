"""Pull an Auth0 tenant's flows into Sluice and push Sluice flows back.

:class:`Tenant` reads and writes a tenant's flows and lists its Flows Vault connections
through an ``auth0`` vault connection's :class:`~vault_app.clients.auth0.ManagementClient`
(token caching, retries on 429 and Auth0's error messages all come from there). Its
machine-to-machine application needs ``read:flows`` and ``read:flows_vault_connections``
to pull, and ``create:flows`` / ``update:flows`` as well to push.

Pull: :func:`pull` fetches the chosen flows whole (``GET /api/v2/flows/{id}``) and hands
them to :func:`flows_app.interop.import_documents` with the tenant's vault connections, so
their ``ac_…`` ids are matched to Sluice's connections by name.

Push: :func:`push_plan` exports the draft in Auth0's format (connections by name), finds
the tenant's flow (by ``Flow.auth0_id``, else the one flow of the same name), diffs the two
and maps every connection name to the tenant's vault connection id; a name the tenant
lacks raises :class:`PushRefused` before anything is written. :func:`push` then sends
``POST /api/v2/flows`` or ``PATCH /api/v2/flows/{id}`` and keeps the tenant's flow id.

Every refusal of the tenant (or the network) is a :class:`TenantError` in Auth0's words.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
from django.utils.dateparse import parse_datetime

from flows_app.definition import all_steps, connection_kind
from flows_app.interop import (
    AUTH0,
    ImportFailed,
    ImportReport,
    dump,
    export_document,
    import_documents,
    missing_connections,
    problems_besides_unsupported,
    schema_problems,
)
from flows_app.models import Flow
from vault_app.clients.auth0 import ManagementApiError, ManagementClient
from vault_app.models import Connection

FLOWS = "/api/v2/flows"
VAULT_CONNECTIONS = "/api/v2/flows/vault/connections"
FLOW_ID = re.compile(r"[A-Za-z0-9_-]{1,30}")
MAX_PAGES = 1001  # Auth0 serves pages 0 to 1000
READ_SCOPES = ("read:flows", "read:flows_vault_connections")
PUSH_SCOPES = (*READ_SCOPES, "create:flows", "update:flows")


class TenantError(Exception):
    """The tenant refused a request, or could not be reached; the message is Auth0's.

    ``status`` is the HTTP status (None for a network error), ``error_code`` Auth0's
    ``errorCode`` such as ``insufficient_scope``.
    """

    def __init__(self, message: str, *, status: int | None = None, error_code: str = ""):
        super().__init__(message)
        self.status = status
        self.error_code = error_code

    @classmethod
    def from_api(cls, error: ManagementApiError) -> TenantError:
        body = error.body if isinstance(error.body, dict) else {}
        code = body.get("errorCode")
        return cls(
            str(error), status=error.status, error_code=code if isinstance(code, str) else ""
        )


class PushRefused(Exception):
    """Sluice will not push this flow as it is; nothing was written to the tenant.

    ``problems`` are sentences; ``diff`` is the change the push would have made, if known.
    """

    def __init__(self, problems: list[str], diff: str = ""):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.diff = diff


class TenantConnection(NamedTuple):
    """One of the tenant's Flows Vault connections: ``ac_…`` id, name and app (AUTH0, …)."""

    id: str
    name: str
    app_id: str


# The client ---------------------------------------------------------------------------------


class Tenant:
    """The flows of the Auth0 tenant an ``auth0`` vault connection reaches.

    Use it as a context manager to keep one HTTP connection open across calls. ``api`` is
    the underlying :class:`ManagementClient` (tests shrink its waits).
    """

    per_page = 100  # Auth0's largest page

    def __init__(self, connection: Connection, *, http: httpx.Client | None = None):
        self.api = ManagementClient(connection, http=http)

    def __enter__(self) -> Tenant:
        self.api.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.api.close()

    def list_flows(self) -> list[dict[str, Any]]:
        """Every flow's summary (id, name, created_at, updated_at; no actions), all pages."""
        return list(self._all_pages(FLOWS, "flows"))

    def get_flow(self, flow_id: str) -> dict[str, Any]:
        """The whole flow, actions included, as Auth0 stores it."""
        return self._call("GET", flow_path(flow_id))

    def list_vault_connections(self) -> list[TenantConnection]:
        """Every Flows Vault connection, all pages (their secrets are never returned)."""
        return [
            TenantConnection(str(item.get("id")), str(item.get("name")), str(item.get("app_id")))
            for item in self._all_pages(VAULT_CONNECTIONS, "connections")
        ]

    def create_flow(self, document: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", FLOWS, json=document)

    def update_flow(self, flow_id: str, document: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", flow_path(flow_id), json=document)

    def _call(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return self.api.request(method, path, json=json, params=params).body
        except ManagementApiError as error:
            raise TenantError.from_api(error) from None

    def _all_pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        """Follow Auth0's offset paging (``include_totals``) until ``total`` items are read."""
        seen = 0
        for page in range(MAX_PAGES):
            params = {"page": page, "per_page": self.per_page, "include_totals": "true"}
            items, total = _page_items(self._call("GET", path, params=params), key)
            yield from items
            seen += len(items)
            if not items or len(items) < self.per_page or (total is not None and seen >= total):
                return


def flow_path(flow_id: str) -> str:
    if not isinstance(flow_id, str) or not FLOW_ID.fullmatch(flow_id):
        raise ValueError(f"{str(flow_id)[:40]!r} is not an Auth0 flow id, such as af_4Rkq….")
    return f"{FLOWS}/{quote(flow_id, safe='')}"


def _page_items(body: Any, key: str) -> tuple[list[dict[str, Any]], int | None]:
    """A page's items and the total, from ``{key: [...], "total"}`` or a bare list."""
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)], None
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise TenantError(f"The tenant's answer to the {key} list was not Auth0's paged list.")
    total = body.get("total")
    items = [item for item in body[key] if isinstance(item, dict)]
    return items, total if isinstance(total, int) and not isinstance(total, bool) else None


# What the pull page shows -------------------------------------------------------------------


@dataclass
class TenantFlow:
    """A flow of the tenant as the pull page lists it."""

    id: str
    name: str
    updated_at: datetime | None
    actions: int
    pulled_as: list[Flow] = field(default_factory=list)  # Sluice flows made from it


@dataclass
class TenantVaultConnection:
    id: str
    name: str
    app_id: str
    in_sluice: bool


@dataclass
class Overview:
    flows: list[TenantFlow]
    connections: list[TenantVaultConnection]
    missing: list[tuple[str, str]]  # (name, kind) the flows use and the vault lacks


def overview(connection: Connection) -> Overview:
    """The tenant's flows (whole, to count their actions) and its vault connections."""
    with Tenant(connection) as tenant:
        vault = tenant.list_vault_connections()
        documents = [tenant.get_flow(str(summary["id"])) for summary in tenant.list_flows()]
    names = {name.lower() for name in Connection.objects.values_list("name", flat=True)}
    pulled: dict[str, list[Flow]] = {}
    ids = [str(document.get("id")) for document in documents]
    for flow in Flow.objects.filter(auth0_id__in=ids).order_by("pk"):
        pulled.setdefault(flow.auth0_id, []).append(flow)
    try:
        missing = missing_connections(sourced(documents), {c.id: (c.name, c.app_id) for c in vault})
    except ImportFailed:
        missing = []  # a flow Sluice cannot read: pulling it says why
    return Overview(
        flows=[_tenant_flow(document, pulled) for document in documents],
        connections=[
            TenantVaultConnection(c.id, c.name, c.app_id, c.name.lower() in names) for c in vault
        ],
        missing=missing,
    )


def sourced(documents: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Name each tenant flow for import problems: "Welcome (af_…)"."""
    return [(f"{document.get('name')} ({document.get('id')})", document) for document in documents]


def _tenant_flow(document: dict[str, Any], pulled: dict[str, list[Flow]]) -> TenantFlow:
    updated = document.get("updated_at")
    return TenantFlow(
        id=str(document.get("id")),
        name=str(document.get("name")),
        updated_at=parse_datetime(updated) if isinstance(updated, str) else None,
        actions=len(all_steps(document)),
        pulled_as=pulled.get(str(document.get("id")), []),
    )


# Pull ---------------------------------------------------------------------------------------


def pull(
    connection: Connection,
    flow_ids: list[str] | None = None,
    *,
    owner=None,
    create_placeholders: bool = False,
) -> ImportReport:
    """Import the tenant's flows (all of them when ``flow_ids`` is None) as drafts.

    All or nothing: raises :class:`flows_app.interop.ImportFailed` with every problem, or
    :class:`TenantError` when the tenant refuses.
    """
    with Tenant(connection) as tenant:
        vault = tenant.list_vault_connections()
        if flow_ids is None:
            flow_ids = [str(summary["id"]) for summary in tenant.list_flows()]
        documents = [tenant.get_flow(flow_id) for flow_id in dict.fromkeys(flow_ids)]
    return import_documents(
        sourced(documents),
        owner=owner,
        tenant_connections={c.id: (c.name, c.app_id) for c in vault},
        create_placeholders=create_placeholders,
    )


# Push ---------------------------------------------------------------------------------------


@dataclass
class PushPlan:
    """What a push would do: ``document`` is the body to send (tenant connection ids)."""

    flow: Flow
    connection: Connection
    document: dict[str, Any]
    tenant_flow: dict[str, Any] | None  # the flow it replaces; None when the push creates one
    diff: str  # unified diff, tenant's flow → Sluice's, connections by name; "" when equal

    @property
    def creates(self) -> bool:
        return self.tenant_flow is None

    @property
    def changed(self) -> bool:
        return bool(self.diff)


def push_plan(flow: Flow, connection: Connection) -> PushPlan:
    """Work out the push of ``flow``'s draft; raise PushRefused or TenantError if it can't be."""
    refuse_flow_problems(flow)
    ours = export_document(flow, format=AUTH0)
    refuse_unnamed_connections(ours)
    with Tenant(connection) as tenant:
        vault = tenant.list_vault_connections()
        theirs = find_tenant_flow(tenant, flow, ours["name"])
    diff = flow_diff(theirs, ours, vault, flow)
    document, problems = with_tenant_ids(ours, vault)
    if not problems:
        problems = [f"Auth0's flow schema: {p}" for p in schema_problems(document)]
    if problems:
        raise PushRefused(problems, diff)
    return PushPlan(flow, connection, document, theirs, diff)


def push(plan: PushPlan) -> dict[str, Any]:
    """Create or update the tenant's flow; remember its id on the Sluice flow."""
    with Tenant(plan.connection) as tenant:
        if plan.tenant_flow is None:
            written = tenant.create_flow(plan.document)
        else:
            written = tenant.update_flow(str(plan.tenant_flow["id"]), plan.document)
    written = written if isinstance(written, dict) else {}
    auth0_id = str(written.get("id") or (plan.tenant_flow or {}).get("id") or "")
    if auth0_id and auth0_id != plan.flow.auth0_id:
        Flow.objects.filter(pk=plan.flow.pk).update(auth0_id=auth0_id)
        plan.flow.auth0_id = auth0_id
    return written


def refuse_flow_problems(flow: Flow) -> None:
    """Refuse a draft with problems, as publishing does; steps Sluice does not know go as
    they came, since their problem is only that Sluice cannot run them."""
    problems = [str(p) for p in problems_besides_unsupported(flow.draft)]
    if problems:
        raise PushRefused(["Fix the draft's problems first:", *problems])


def refuse_unnamed_connections(document: dict[str, Any]) -> None:
    problems = [
        f"Step {step.get('id')} has no vault connection; choose one in the editor."
        for step in all_steps(document)
        if connection_kind(step) and not _connection_name(step)
    ]
    if problems:
        raise PushRefused(problems)


def find_tenant_flow(tenant: Tenant, flow: Flow, name: str) -> dict[str, Any] | None:
    """The tenant's flow this one was pulled from, else the only one of the same name."""
    if flow.auth0_id:
        try:
            return tenant.get_flow(flow.auth0_id)
        except TenantError as error:
            if error.status != 404:
                raise
    same = [summary for summary in tenant.list_flows() if summary.get("name") == name]
    if len(same) > 1:
        raise PushRefused(
            [
                f"The tenant has {len(same)} flows named {name!r} "
                f"({', '.join(str(s.get('id')) for s in same)}); rename this flow, or all "
                "but one of the tenant's."
            ]
        )
    return tenant.get_flow(str(same[0]["id"])) if same else None


def flow_diff(
    theirs: dict[str, Any] | None, ours: dict[str, Any], vault: list[TenantConnection], flow: Flow
) -> str:
    """A unified diff from the tenant's flow to Sluice's, both with connections by name."""
    before = dump(comparable(theirs, vault)) if theirs is not None else ""
    after = dump(ours)
    if before == after:
        return ""
    source = f"auth0/{theirs['id']}" if theirs is not None else "auth0 (no such flow yet)"
    return "".join(
        difflib.unified_diff(
            _lines(before), _lines(after), fromfile=source, tofile=f"sluice/{flow.pk}"
        )
    )


def comparable(tenant_flow: dict[str, Any], vault: list[TenantConnection]) -> dict[str, Any]:
    """The tenant's flow as Sluice exports one: name and actions, connections by name."""
    names = {connection.id: connection.name for connection in vault}
    document = {
        "name": tenant_flow.get("name"),
        "actions": copy.deepcopy(tenant_flow.get("actions") or []),
    }
    for step in all_steps(document):
        value = step["params"].get("connection_id") if connection_kind(step) else None
        if isinstance(value, str) and value in names:
            step["params"]["connection_id"] = names[value]
    return document


def with_tenant_ids(
    document: dict[str, Any], vault: list[TenantConnection]
) -> tuple[dict[str, Any], list[str]]:
    """Replace every connection name by the tenant's id; list the names it cannot place."""
    mapped = copy.deepcopy(document)
    unplaced: dict[str, list[str]] = {}
    for step in all_steps(mapped):
        if not connection_kind(step):
            continue
        name, app_id = _connection_name(step), str(step.get("type"))
        found = _tenant_connection(vault, name, app_id)
        if isinstance(found, TenantConnection):
            step["params"]["connection_id"] = found.id
        else:
            unplaced.setdefault(found, []).append(str(step.get("id")))
    return mapped, [_unplaced_message(why, steps) for why, steps in unplaced.items()]


def _tenant_connection(
    vault: list[TenantConnection], name: str, app_id: str
) -> TenantConnection | str:
    """The one tenant connection of this name (exact, else any case) and app, or why not."""
    named = [c for c in vault if c.name == name] or [
        c for c in vault if c.name.lower() == name.lower()
    ]
    fitting = [c for c in named if c.app_id == app_id]
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        return f"The tenant has several {app_id} vault connections named {name!r}; rename one"
    if named:
        apps = ", ".join(sorted({c.app_id for c in named}))
        return f"The tenant's vault connection {name!r} is for {apps}, not {app_id}"
    return (
        f"The tenant has no vault connection named {name!r}; "
        "create it in the tenant's Flows Vault first"
    )


def _unplaced_message(why: str, steps: list[str]) -> str:
    return f"{why} (used by {', '.join(steps)})."


def _connection_name(step: dict[str, Any]) -> str:
    value = step["params"].get("connection_id")
    return value.strip() if isinstance(value, str) else ""


def _lines(text: str) -> list[str]:
    return (text.rstrip("\n") + "\n").splitlines(keepends=True) if text else []
