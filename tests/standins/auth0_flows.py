"""The Flows slice of the Auth0 stand-in: flows and the Flows Vault's connections.

``FlowsApi(standin)`` registers, on an ``Auth0Standin``, the endpoints Sluice's pull and
push use, with the scopes, bodies and errors of Auth0's Management API:

- ``GET /api/v2/flows`` (``read:flows``): flow summaries (id, name, created_at,
  updated_at, executed_at; no actions), offset paging with ``page`` (0-1000),
  ``per_page`` (1-100, default 50) and ``include_totals`` (``{"flows": [...], "start",
  "limit", "total"}``); ``hydrate=form_count`` adds ``form_count``.
- ``GET /api/v2/flows/{id}`` (``read:flows``): the whole flow; 404 "The flow does not exist."
- ``POST /api/v2/flows`` (``create:flows``): 201 with the new flow (``af_…`` id).
- ``PATCH /api/v2/flows/{id}`` (``update:flows``): 200 with the changed flow.
- ``GET /api/v2/flows/vault/connections`` (``read:flows_vault_connections``): connection
  summaries (id ``ac_…``, app_id, name, ready, timestamps, fingerprint), paged as flows are
  under the key ``connections``.

Bodies are checked as Auth0's JSON schema does (only ``name`` and ``actions``, the known
keys of an action). One check is this stand-in's own choice, as Auth0 documents no
message for it: an action's ``params.connection_id`` must be the id of one of the tenant's
vault connections (400 ``invalid_body``), so a push that sent names instead of ids fails.

Tests fill the tenant with ``add_flow()`` and ``add_vault_connection()``; the standin's
``force()`` / ``rate_limited()`` work on these paths like on any other.
"""

import copy
import secrets
import string
import threading
from typing import Any

from tests.standins.auth0 import (
    Recorded,
    Reply,
    auth0_api_error,
    invalid_body,
    invalid_query,
    iso_now,
    json_type,
    paginated,
)

READ_SCOPES = ("read:flows", "read:flows_vault_connections")
WRITE_SCOPES = ("create:flows", "update:flows")
FLOW_SCOPES = READ_SCOPES + WRITE_SCOPES
FLOW_FIELDS = ("name", "actions")
ACTION_FIELDS = ("id", "alias", "type", "action", "allow_failure", "mask_output", "params")
PAGE_RANGE, PER_PAGE_RANGE = (0, 1000), (1, 100)
_ID_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An id in Auth0's style: ``af_`` or ``ac_`` and 22 letters and digits."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


def flow_not_found() -> Reply:
    return auth0_api_error(404, "Not Found", "The flow does not exist.")


class FlowsApi:
    """The tenant's flows and Flows Vault connections, served through ``standin``."""

    def __init__(self, standin):
        self.standin = standin
        self.flows: dict[str, dict[str, Any]] = {}
        self.vault_connections: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        standin.route("GET", "/api/v2/flows", self.handle_list_flows)
        standin.route("POST", "/api/v2/flows", self.handle_create_flow)
        standin.route("GET", "/api/v2/flows/{id}", self.handle_get_flow)
        standin.route("PATCH", "/api/v2/flows/{id}", self.handle_update_flow)
        standin.route("GET", "/api/v2/flows/vault/connections", self.handle_list_connections)

    # Filling the tenant -------------------------------------------------------------------

    def add_flow(self, name: str, actions: list | None = None) -> dict[str, Any]:
        """Store a flow as if it had been built in the dashboard; return it."""
        now = iso_now()
        flow = {"id": new_id("af_"), "name": name, "created_at": now, "updated_at": now}
        if actions:
            flow["actions"] = copy.deepcopy(actions)
        with self._lock:
            self.flows[flow["id"]] = flow
        return copy.deepcopy(flow)

    def add_vault_connection(self, name: str, app_id: str = "AUTH0") -> dict[str, Any]:
        """Store a configured vault connection; its setup (the secrets) is never shown."""
        now = iso_now()
        connection = {
            "id": new_id("ac_"),
            "app_id": app_id,
            "name": name,
            "ready": True,
            "created_at": now,
            "updated_at": now,
            "fingerprint": secrets.token_hex(16),
        }
        with self._lock:
            self.vault_connections[connection["id"]] = connection
        return dict(connection)

    def flow(self, flow_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.flows[flow_id])

    # Handlers -----------------------------------------------------------------------------

    def handle_list_flows(self, request: Recorded) -> Reply:
        denied = self.standin.authorize(request, "read:flows")
        if denied:
            return denied
        query = {name: values[-1] for name, values in request.query.items()}
        hydrate = set(request.query.get("hydrate", []))
        with self._lock:
            summaries = [_summary(flow, hydrate) for flow in self.flows.values()]
        return _page(summaries, query, "flows")

    def handle_get_flow(self, request: Recorded, id: str) -> Reply:  # noqa: A002
        denied = self.standin.authorize(request, "read:flows")
        if denied:
            return denied
        with self._lock:
            flow = self.flows.get(id)
            return Reply(200, copy.deepcopy(flow)) if flow else flow_not_found()

    def handle_create_flow(self, request: Recorded) -> Reply:
        denied = self.standin.authorize(request, "create:flows")
        if denied:
            return denied
        problem = self._body_problem(request.body, name_required=True)
        if problem:
            return invalid_body(problem)
        now = iso_now()
        flow = {"id": new_id("af_"), **request.body, "created_at": now, "updated_at": now}
        with self._lock:
            self.flows[flow["id"]] = flow
            return Reply(201, copy.deepcopy(flow))

    def handle_update_flow(self, request: Recorded, id: str) -> Reply:  # noqa: A002
        denied = self.standin.authorize(request, "update:flows")
        if denied:
            return denied
        problem = self._body_problem(request.body, name_required=False)
        if problem:
            return invalid_body(problem)
        with self._lock:
            flow = self.flows.get(id)
            if flow is None:
                return flow_not_found()
            flow.update(copy.deepcopy(request.body))
            flow["updated_at"] = iso_now()
            return Reply(200, copy.deepcopy(flow))

    def handle_list_connections(self, request: Recorded) -> Reply:
        denied = self.standin.authorize(request, "read:flows_vault_connections")
        if denied:
            return denied
        query = {name: values[-1] for name, values in request.query.items()}
        with self._lock:
            every = [dict(connection) for connection in self.vault_connections.values()]
        return _page(every, query, "connections")

    # Payload checks -----------------------------------------------------------------------

    def _body_problem(self, body: Any, *, name_required: bool) -> str | None:
        if not isinstance(body, dict):
            found = json_type(body)
            return f"Payload validation error: 'Expected type object but found type {found}'."
        if name_required and "name" not in body:
            return "Payload validation error: 'Missing required property: name'."
        for key in body:
            if key not in FLOW_FIELDS:
                return f"Payload validation error: 'Additional properties not allowed: {key}'."
        if "name" in body and (
            not isinstance(body["name"], str) or not 1 <= len(body["name"]) <= 150
        ):
            return "Payload validation error: 'String is too long (or short)' on property name."
        actions = body.get("actions")
        if actions is not None and not isinstance(actions, list):
            return (
                "Payload validation error: 'Expected type array but found type "
                f"{json_type(actions)}' on property actions."
            )
        return self._actions_problem(actions or [])

    def _actions_problem(self, actions: list) -> str | None:
        for action in actions:
            problem = self._action_problem(action)
            if problem:
                return problem
        return None

    def _action_problem(self, action: Any) -> str | None:
        if not isinstance(action, dict):
            return "Payload validation error: 'Expected type object' on property actions."
        for key in ("id", "type", "action"):
            if not isinstance(action.get(key), str):
                return f"Payload validation error: 'Missing required property: {key}' on actions."
        for key in action:
            if key not in ACTION_FIELDS:
                return f"Payload validation error: 'Additional properties not allowed: {key}'."
        params = action.get("params") or {}
        connection_id = params.get("connection_id") if isinstance(params, dict) else None
        if connection_id is not None:
            with self._lock:
                known = connection_id in self.vault_connections
            if not known:
                return (
                    f"Payload validation error: the vault connection {connection_id!r} of "
                    f"action {action['id']} does not exist."
                )
        for branch in ("then", "else"):
            nested = params.get(branch) if isinstance(params, dict) else None
            if isinstance(nested, list):
                problem = self._actions_problem(nested)
                if problem:
                    return problem
        return None


def _summary(flow: dict[str, Any], hydrate: set[str]) -> dict[str, Any]:
    summary = {key: flow[key] for key in ("id", "name", "created_at", "updated_at")}
    if "executed_at" in flow:
        summary["executed_at"] = flow["executed_at"]
    if "form_count" in hydrate:
        summary["form_count"] = 0
    return summary


def _page(items: list, query: dict[str, str], name: str) -> Reply:
    """Check the paging parameters' ranges as Auth0 does, then page like the other lists."""
    for key, (low, high) in (("page", PAGE_RANGE), ("per_page", PER_PAGE_RANGE)):
        if key not in query:
            continue
        try:
            value = int(query[key])
        except ValueError:
            return invalid_query(
                f"Query validation error: 'Expected type integer but found type string' "
                f"on property {key}."
            )
        if not low <= value <= high:
            return invalid_query(
                f"Query validation error: 'Value {value} is outside the range {low} to {high}' "
                f"on property {key}."
            )
    if query.get("include_totals", "false") not in ("true", "false"):
        return invalid_query(
            "Query validation error: 'Expected type boolean but found type string' "
            "on property include_totals."
        )
    page = paginated(items, query, name)
    return page if isinstance(page, Reply) else Reply(200, page)
