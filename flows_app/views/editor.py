"""The flow editor: palette, canvas, inspector with live previews, test data, publish, test run.

Every change is a POST that goes through ``flows_app.drafts`` and ``services.edit_draft``
and answers with the re-rendered canvas (and, when it changed, the inspector), so the
server's draft is the truth. With htmx the answer is one or more partials of
``flows/editor.html``; without JavaScript every form still works and redirects back.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from accounts_app.access import editor_required
from flows_app import drafts, services
from flows_app import preview as previews
from flows_app.actions import ACTION_TYPES, GROUPS
from flows_app.actions.base import (
    BOOL,
    CHOICE,
    CONNECTION,
    JSON_TEMPLATE,
    KEY_VALUE,
    RENDERED_KINDS,
    SENDER,
    ActionType,
    Input,
)
from flows_app.definition import ALIAS_LIMIT, Problem, action_of, steps_of
from flows_app.liquid_functions import FUNCTIONS
from flows_app.models import Flow, FlowVersion, Run
from flows_app.templating import TemplateProblem
from flows_app.views.runs import HtmxHttpRequest, pretty_json
from vault_app.models import Connection

TEMPLATE = "flows/editor.html"
TEST_DATA_KEYS = ("context", "fields", "vars")
PATH_DEPTH = 3


# --- Reading the draft -------------------------------------------------------------------


@dataclass
class StepCard:
    """One step as the canvas shows it."""

    id: str
    name: str
    action_label: str
    position: int
    problems: list[Problem]
    readers: list[str]
    last: bool = False

    @property
    def first(self) -> bool:
        return self.position == 0


@dataclass
class FieldView:
    """One input of the selected step, ready for the inspector's form."""

    spec: Input
    value: Any = ""
    text: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    preview: previews.InputPreview | None = None

    @property
    def id(self) -> str:
        return f"in-{self.spec.name}"

    @property
    def templated(self) -> bool:
        return self.spec.kind in RENDERED_KINDS


def _flow(pk: int) -> Flow:
    return get_object_or_404(Flow, pk=pk)


def _step(definition: dict, step_id: str | None) -> dict | None:
    return next((s for s in steps_of(definition) if s.get("id") == step_id), None)


def _display_name(step: dict) -> str:
    action = action_of(step)
    return str(step.get("alias") or (action.label if action else step.get("action")))


def step_cards(definition: dict, problems: list[Problem]) -> list[StepCard]:
    by_step: dict[str | None, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_step[problem.step_id].append(problem)
    cards = []
    for position, step in enumerate(steps_of(definition)):
        action = action_of(step)
        step_id = str(step.get("id"))
        cards.append(
            StepCard(
                id=step_id,
                name=_display_name(step),
                action_label=action.label if action else f"Unknown {step.get('action')}",
                position=position,
                problems=by_step.get(step_id) or by_step.get(f"step {position + 1}", []),
                readers=drafts.references_to(definition, step_id),
            )
        )
    if cards:
        cards[-1].last = True
    return cards


def palette() -> list[tuple[str, list[ActionType]]]:
    groups = {name: [] for name in GROUPS}  # type: dict[str, list[ActionType]]
    for action in ACTION_TYPES.values():
        groups.setdefault(action.group, []).append(action)
    return [(name, actions) for name, actions in groups.items() if actions]


# --- The inspector -----------------------------------------------------------------------


def _connections(kind: str | None) -> list[tuple[str, str]]:
    return [
        (str(pk), name)
        for pk, name in Connection.objects.filter(kind=kind).values_list("pk", "name")
    ]


def field_views(
    action: ActionType,
    params: dict,
    problems: list[Problem],
    typed: dict[str, str] | None = None,
    json_errors: dict[str, str] | None = None,
) -> list[FieldView]:
    """The inputs of a step with their values, errors and choices; ``typed`` keeps bad JSON."""
    typed, json_errors = typed or {}, json_errors or {}
    views = []
    for spec in action.inputs:
        value = params.get(spec.name)
        view = FieldView(spec, value=value, text=_as_text(spec, value, typed))
        view.errors = [p.message for p in problems if p.input == spec.label]
        if spec.name in json_errors:
            view.errors.insert(0, json_errors[spec.name])
        if spec.kind == KEY_VALUE:
            items = value.items() if isinstance(value, dict) else ()
            view.rows = [(str(k), "" if v is None else str(v)) for k, v in items] or [("", "")]
        elif spec.kind == CHOICE:
            view.options = [(choice, choice) for choice in spec.choices]
        elif spec.kind == CONNECTION:
            view.options = _connections(spec.connection_kind)
        views.append(view)
    return views


def _as_text(spec: Input, value: Any, typed: dict[str, str]) -> str:
    if spec.name in typed:
        return typed[spec.name]
    if value is None:
        return ""
    if spec.kind == JSON_TEMPLATE:
        return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def read_params(
    action: ActionType, data: QueryDict, old: dict
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """Read the inspector form: params, JSON errors by input, and the JSON text as typed.

    An input whose JSON does not parse keeps its saved value, so nothing else is lost.
    """
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    for spec in action.inputs:
        key = f"p-{spec.name}"
        if spec.kind == JSON_TEMPLATE:
            text = data.get(key, "")
            typed[spec.name] = text
            value, error = _parse_json(text)
            if error:
                errors[spec.name] = error
                value = old.get(spec.name)
        else:
            value = _read_value(spec, data, key)
        if value not in (None, "", {}):
            params[spec.name] = value
    return params, errors, typed


def _read_value(spec: Input, data: QueryDict, key: str) -> Any:
    if spec.kind == KEY_VALUE:
        rows = zip(data.getlist(f"{key}-name"), data.getlist(f"{key}-value"), strict=False)
        return {name.strip(): value for name, value in rows if name.strip() or value}
    if spec.kind == SENDER:
        if not data.get(f"{key}-on"):
            return None
        sender = {"email": data.get(f"{key}-email", "").strip()}
        name = data.get(f"{key}-name", "").strip()
        return {**sender, "name": name} if name else sender
    if spec.kind == BOOL:
        return key in data
    if spec.kind == CONNECTION:
        raw = data.get(key, "")
        return int(raw) if raw.isdigit() else raw
    return data.get(key, "")


def _parse_json(text: str) -> tuple[Any, str]:
    if not text.strip():
        return None, ""
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as exc:
        return None, f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."


# --- The variable picker -----------------------------------------------------------------


def _paths(value: Any, prefix: str, depth: int) -> list[str]:
    if not isinstance(value, dict) or not value or depth == 0:
        return [prefix]
    found = []
    for key, item in value.items():
        if isinstance(key, str) and key.isidentifier():
            found += _paths(item, f"{prefix}.{key}", depth - 1)
    return found or [prefix]


def variables(flow: Flow, step_id: str) -> list[str]:
    """The variables a template of this step can read: test data and earlier steps' outputs."""
    data = flow.test_data if isinstance(flow.test_data, dict) else {}
    found = []
    for key in TEST_DATA_KEYS:
        if isinstance(data.get(key), dict) and data[key]:
            found += _paths(data[key], key, PATH_DEPTH)
    earlier = []
    for step in steps_of(flow.draft):
        if step.get("id") == step_id:
            break
        earlier.append(str(step.get("id")))
    outputs = previews.latest_outputs(flow, earlier)
    for earlier_id in earlier:
        found += _paths(outputs.get(earlier_id), f"actions.{earlier_id}", 2)
    return found


def custom_vars(params: dict) -> list[str]:
    value = params.get("custom_vars")
    return [f"custom_vars.{k}" for k in value if k] if isinstance(value, dict) else []


FUNCTION_CALLS = [f"functions.{name}()" for name in sorted(FUNCTIONS)]


# --- Rendering ---------------------------------------------------------------------------


def _can_edit(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "can_edit_flows", False))


def editor_context(request: HttpRequest, flow: Flow, selected: str | None, **extra) -> dict:
    problems = services.problems_of(flow.draft)
    step = _step(flow.draft, selected)
    context = {
        "flow": flow,
        "can_edit": _can_edit(request),
        "palette": palette(),
        "cards": step_cards(flow.draft, problems),
        "general_problems": [p for p in problems if p.step_id is None],
        "selected": str(step["id"]) if step else "",
        "can_undo": bool(flow.undo),
        "alias_limit": ALIAS_LIMIT,
        **extra,
    }
    if step is not None:
        context.update(inspector_context(flow, step, problems, extra))
    return context


def inspector_context(flow: Flow, step: dict, problems: list[Problem], extra: dict) -> dict:
    action = action_of(step)
    step_id = str(step["id"])
    params = step.get("params") or {}
    if action is None:
        return {"step": step, "action": None}
    mine = [p for p in problems if p.step_id == step_id]
    fields = field_views(action, params, mine, extra.get("typed"), extra.get("json_errors"))
    shown = previews.preview_step(action, params, previews.scope_for(flow, step_id))
    for view in fields:
        view.preview = shown.inputs.get(view.spec.name)
    return {
        "step": step,
        "action": action,
        "fields": fields,
        "step_problems": [p for p in mine if p.input is None],
        "warnings": shown.warnings,
        "readers": drafts.references_to(flow.draft, step_id),
        "variables": variables(flow, step_id),
        "custom_vars": custom_vars(params),
        "functions": FUNCTION_CALLS,
    }


def page_context(request: HttpRequest, flow: Flow, selected: str | None) -> dict:
    versions = list(flow.versions.select_related("created_by").order_by("-number"))
    return editor_context(
        request,
        flow,
        selected,
        versions=versions,
        test_data_text=pretty_json(flow.test_data or {k: {} for k in TEST_DATA_KEYS}),
        **run_context(_latest_test_run(flow)),
    )


def _latest_test_run(flow: Flow) -> Run | None:
    return flow.runs.filter(trigger=Run.Trigger.TEST).order_by("-created_at", "-id").first()


def render_partials(
    request: HttpRequest, names: list[str], context: dict, oob: tuple[str, ...] = ()
) -> HttpResponse:
    """Render partials of the editor page one after another; those in ``oob`` swap by id."""
    html = "".join(
        render_to_string(f"{TEMPLATE}#{name}", {**context, "oob": name in oob}, request=request)
        for name in names
    )
    return HttpResponse(html)


def _back(flow: Flow, selected: str | None = None) -> HttpResponse:
    url = reverse("flow_editor", args=[flow.pk])
    return redirect(f"{url}?step={selected}" if selected else url)


def _canvas_reply(
    request: HtmxHttpRequest, flow: Flow, selected: str | None, *, inspector=True, **extra
) -> HttpResponse:
    if not request.htmx:
        return _back(flow, selected)
    flow.refresh_from_db()
    context = editor_context(request, flow, selected, **extra)
    names = ["canvas", "inspector"] if inspector else ["canvas"]
    return render_partials(request, names, context, oob=("canvas", "inspector"))


# --- Views -------------------------------------------------------------------------------


@require_GET
def flow_editor(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    return render(request, TEMPLATE, page_context(request, flow, request.GET.get("step")))


@require_GET
def select_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Open a step in the inspector; the canvas comes along to mark it selected."""
    flow = _flow(pk)
    if _step(flow.draft, step_id) is None:
        raise Http404("No such step.")
    if not request.htmx:
        return _back(flow, step_id)
    context = editor_context(request, flow, step_id)
    return render_partials(request, ["inspector", "canvas"], context, oob=("inspector", "canvas"))


def _selected(request: HttpRequest) -> str | None:
    return request.POST.get("selected") or request.POST.get("after") or None


def _edit(flow: Flow, definition: dict) -> None:
    services.edit_draft(flow, definition)


def _position_after(definition: dict, after: str | None) -> int:
    ids = [step.get("id") for step in steps_of(definition)]
    return ids.index(after) + 1 if after in ids else len(ids)


@require_POST
@editor_required
def add_step(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    action = ACTION_TYPES.get(request.POST.get("action", ""))
    if action is None:
        return HttpResponse("Unknown action.", status=400)
    raw = request.POST.get("position", "")
    position = int(raw) if raw.isdigit() else _position_after(flow.draft, _selected(request))
    definition, step_id = drafts.insert_step(flow.draft, action, position)
    _edit(flow, definition)
    return _canvas_reply(request, flow, step_id)


@require_POST
@editor_required
def move_step(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Move a step to ``position``, or one place ``up``/``down``; focus stays on it."""
    flow = _flow(pk)
    step_id = request.POST.get("step", "")
    ids = [step.get("id") for step in steps_of(flow.draft)]
    if step_id not in ids:
        raise Http404("No such step.")
    direction = request.POST.get("direction", "")
    raw = request.POST.get("position", "")
    position = {"up": ids.index(step_id) - 1, "down": ids.index(step_id) + 1}.get(
        direction, int(raw) if raw.lstrip("-").isdigit() else ids.index(step_id)
    )
    definition = drafts.move_step(flow.draft, step_id, position)
    _edit(flow, definition)
    focus_id = _focus_after_move(definition, step_id, direction)
    return _canvas_reply(request, flow, _selected(request), inspector=False, focus_id=focus_id)


def _focus_after_move(definition: dict, step_id: str, direction: str) -> str:
    """The moved step's button that was pressed, or its twin when that one is now disabled."""
    ids = [step.get("id") for step in steps_of(definition)]
    index = ids.index(step_id)
    if direction == "up":
        return f"{'down' if index == 0 else 'up'}-{step_id}"
    if direction == "down":
        return f"{'up' if index == len(ids) - 1 else 'down'}-{step_id}"
    return f"select-{step_id}"


@require_POST
@editor_required
def duplicate_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    flow = _flow(pk)
    try:
        definition, twin = drafts.duplicate_step(flow.draft, step_id)
    except drafts.DraftError as exc:
        raise Http404(str(exc)) from None
    _edit(flow, definition)
    return _canvas_reply(request, flow, twin, focus_id=f"select-{twin}")


@require_POST
@editor_required
def delete_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    flow = _flow(pk)
    try:
        _edit(flow, drafts.remove_step(flow.draft, step_id))
    except drafts.DraftError as exc:
        raise Http404(str(exc)) from None
    selected = _selected(request)
    kept = None if selected == step_id else selected
    return _canvas_reply(request, flow, kept, focus_id="undo-button")


@require_POST
@editor_required
def undo(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    done = services.undo_edit(flow)
    notice = "" if done else "Nothing to undo."
    return _canvas_reply(request, flow, _selected(request), notice=notice, focus_id="undo-button")


@require_POST
@editor_required
def save_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Save the inspector form; the canvas and every field's errors come back out of band."""
    flow = _flow(pk)
    step = _step(flow.draft, step_id)
    action = action_of(step) if step else None
    if step is None or action is None:
        raise Http404("No such step.")
    params, json_errors, typed = read_params(action, request.POST, step.get("params") or {})
    alias = request.POST.get("alias", "").strip()[:ALIAS_LIMIT]
    _edit(flow, drafts.update_step(flow.draft, step_id, alias=alias or None, params=params))
    if not request.htmx:
        return _back(flow, step_id)
    flow.refresh_from_db()
    context = editor_context(
        request,
        flow,
        step_id,
        typed=typed,
        json_errors=json_errors,
        saved=not json_errors,
        piece_oob=True,
    )
    return render_partials(request, ["saved"], context)


@require_POST
@editor_required
def rename_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    flow = _flow(pk)
    if _step(flow.draft, step_id) is None:
        raise Http404("No such step.")
    new_id = request.POST.get("new_id", "").strip()
    try:
        definition, rewritten = drafts.rename_step(flow.draft, step_id, new_id)
    except drafts.DraftError as exc:
        return _canvas_reply(request, flow, step_id, rename_error=str(exc), typed_id=new_id)
    _edit(flow, definition)
    left = drafts.references_to(definition, step_id) if new_id != step_id else []
    return _canvas_reply(request, flow, new_id, renamed=rewritten, still_reading=left)


@require_POST
@editor_required
def preview_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Render the step's templated inputs as typed, on the test data, for the live preview."""
    flow = _flow(pk)
    step = _step(flow.draft, step_id)
    action = action_of(step) if step else None
    if step is None or action is None:
        raise Http404("No such step.")
    params, json_errors, _ = read_params(action, request.POST, {})
    shown = previews.preview_step(action, params, previews.scope_for(flow, step_id))
    for name, message in json_errors.items():
        shown.inputs[name] = previews.InputPreview(name, JSON_TEMPLATE, error=_problem(message))
    fields = [
        FieldView(spec, preview=shown.inputs.get(spec.name))
        for spec in action.inputs
        if spec.kind in RENDERED_KINDS
    ]
    context = {"fields": fields, "warnings": shown.warnings, "piece_oob": True}
    return HttpResponse(render_to_string(f"{TEMPLATE}#previews", context, request=request))


def _problem(message: str) -> TemplateProblem:
    return TemplateProblem(message)


@require_POST
@editor_required
def save_test_data(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    text = request.POST.get("test_data", "")
    data, error = _parse_json(text)
    if not error and not isinstance(data, dict):
        error = "Test data is a JSON object with context, fields and vars."
    elif not error and set(data) - set(TEST_DATA_KEYS):
        unknown = ", ".join(sorted(set(data) - set(TEST_DATA_KEYS)))
        error = f"Unknown key {unknown}: test data has only context, fields and vars."
    if not error:
        services.save_draft(flow, flow.draft, test_data=data)
    if not request.htmx:
        return _back(flow)
    context = {"flow": flow, "can_edit": True, "test_data_text": text, "test_data_error": error}
    response = render_partials(request, ["test-data"], {**context, "test_data_saved": not error})
    return trigger_client_event(response, "sluice:test-data-saved") if not error else response


@require_POST
@editor_required
def publish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    try:
        version = services.publish_flow(flow, user=request.user)
    except services.InvalidFlow as exc:
        return _publish_reply(request, flow, publish_problems=exc.problems)
    return _publish_reply(request, flow, published=version)


def _publish_reply(request: HtmxHttpRequest, flow: Flow, **extra) -> HttpResponse:
    if not request.htmx:
        return _back(flow)
    versions = list(flow.versions.select_related("created_by").order_by("-number"))
    context = {"flow": flow, "can_edit": True, "versions": versions, **extra}
    return render_partials(request, ["publish"], context)


@require_POST
@editor_required
def test_run(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    try:
        run = services.start_run(
            flow, trigger=Run.Trigger.TEST, input=flow.test_data, user=request.user, draft=True
        )
    except services.InvalidFlow as exc:
        return _run_reply(request, flow, None, run_problems=exc.problems)
    run.refresh_from_db()
    return _run_reply(request, flow, run)


@require_GET
def test_run_results(request: HtmxHttpRequest, pk: int, run_id: int) -> HttpResponse:
    flow = _flow(pk)
    run = get_object_or_404(Run, pk=run_id, flow=flow)
    return _run_reply(request, flow, run)


def _run_reply(request: HtmxHttpRequest, flow: Flow, run: Run | None, **extra) -> HttpResponse:
    if not request.htmx:
        return _back(flow)
    context = {"flow": flow, "can_edit": _can_edit(request), **run_context(run), **extra}
    return render_partials(request, ["test-run"], context)


def run_context(run: Run | None) -> dict:
    records = list(run.steps.all()) if run else []
    return {"run": run, "run_records": [(r, pretty_json(r.output)) for r in records]}


@require_GET
def version_detail(request: HtmxHttpRequest, pk: int, number: int) -> HttpResponse:
    """A published version, read-only, with a Restore button for editors."""
    flow = _flow(pk)
    version = get_object_or_404(
        FlowVersion.objects.select_related("created_by"), flow=flow, number=number
    )
    definition = version.definition
    context = {
        "flow": flow,
        "version": version,
        "can_edit": _can_edit(request),
        "cards": step_cards(definition, []),
        "version_steps": [(s, pretty_json(s.get("params") or {})) for s in steps_of(definition)],
    }
    return render(request, TEMPLATE, context)


@require_POST
@editor_required
def restore_version(request: HtmxHttpRequest, pk: int, number: int) -> HttpResponse:
    flow = _flow(pk)
    version = get_object_or_404(FlowVersion, flow=flow, number=number)
    _edit(flow, version.definition)
    return _back(flow)


urlpatterns = [
    path("flows/<int:pk>/edit/", flow_editor, name="flow_editor"),
    path("flows/<int:pk>/edit/add/", add_step, name="editor_add"),
    path("flows/<int:pk>/edit/move/", move_step, name="editor_move"),
    path("flows/<int:pk>/edit/undo/", undo, name="editor_undo"),
    path("flows/<int:pk>/edit/test-data/", save_test_data, name="editor_test_data"),
    path("flows/<int:pk>/edit/publish/", publish, name="editor_publish"),
    path("flows/<int:pk>/edit/test-run/", test_run, name="editor_test_run"),
    path("flows/<int:pk>/edit/test-run/<int:run_id>/", test_run_results, name="editor_run"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/", select_step, name="editor_step"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/save/", save_step, name="editor_save"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/rename/", rename_step, name="editor_rename"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/preview/", preview_step, name="editor_preview"),
    path(
        "flows/<int:pk>/edit/steps/<str:step_id>/duplicate/",
        duplicate_step,
        name="editor_duplicate",
    ),
    path("flows/<int:pk>/edit/steps/<str:step_id>/delete/", delete_step, name="editor_delete"),
    path("flows/<int:pk>/versions/<int:number>/", version_detail, name="flow_version"),
    path(
        "flows/<int:pk>/versions/<int:number>/restore/",
        restore_version,
        name="flow_version_restore",
    ),
]
