"""The flow editor: palette, canvas, inspector with live previews, test data, publish, test run.

Every change is a POST that goes through ``flows_app.drafts`` and ``services.edit_draft``
and answers with the re-rendered canvas (and, when it changed, the inspector), so the
server's draft is the truth. With htmx the answer is one or more partials of
``flows/editor.html``; without JavaScript every form still works and redirects back.
The canvas cards, the inspector's form and the variable picker are built in
``editor_canvas``, ``editor_forms`` and ``variables``; the views that add, move, duplicate
and delete steps, and Undo and Redo, are in ``editor_edits``.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from accounts_app.access import editor_required
from audit_app.records import record
from flows_app import drafts, services
from flows_app import preview as previews
from flows_app.actions.base import BRANCH, JSON_TEMPLATE, ActionType
from flows_app.definition import ALIAS_LIMIT, Problem, action_of, all_steps, find, steps_of
from flows_app.latest_run import latest_test_run
from flows_app.models import Flow, FlowVersion, Run
from flows_app.pins import pins_of
from flows_app.templating import TemplateProblem
from flows_app.views.editor_canvas import find_card, palette, step_cards
from flows_app.views.editor_forms import FieldView, field_views, parse_json, read_params
from flows_app.views.runs import HtmxHttpRequest, pretty_json
from flows_app.views.step_tools import pin_context
from flows_app.views.timeline import timeline
from flows_app.views.variables import FUNCTION_CALLS, TEST_DATA_KEYS, custom_vars, picker_groups

TEMPLATE = "flows/editor.html"


# --- Reading the draft -------------------------------------------------------------------


def _flow(pk: int) -> Flow:
    return get_object_or_404(Flow, pk=pk)


def _step(definition: dict, step_id: str | None) -> dict | None:
    """The step with this id, at any depth."""
    placed = find(definition, step_id) if step_id else None
    return placed.step if placed else None


def _step_ids(definition: dict) -> list:
    return [step.get("id") for step in all_steps(definition)]


def _into(step: dict | None, branch: str | None) -> str:
    """``branch`` when it names a branch of ``step`` (an If/then), else ""."""
    return branch if step and branch and drafts.branch_of(step, branch) is not None else ""


def _step_or_404(flow: Flow, step_id: str) -> dict:
    step = _step(flow.draft, step_id)
    if step is None:
        raise Http404("No such step.")
    return step


def _step_and_action_or_404(flow: Flow, step_id: str) -> tuple[dict, ActionType]:
    step = _step_or_404(flow, step_id)
    action = action_of(step)
    if action is None:
        raise Http404("No such step.")
    return step, action


def _versions(flow: Flow) -> list[FlowVersion]:
    return list(flow.versions.select_related("created_by").order_by("-number"))


# --- Rendering ---------------------------------------------------------------------------


def _can_edit(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "can_edit_flows", False))


def editor_context(request: HttpRequest, flow: Flow, selected: str | None, **extra) -> dict:
    """The editor's context; ``into`` names a branch of the selected If/then that the
    palette's Add buttons add to, instead of after the selected step."""
    problems = services.problems_to_publish(flow.draft)
    step = _step(flow.draft, selected)
    into = _into(step, extra.pop("into", None))
    cards = step_cards(flow.draft, problems)
    context = {
        "flow": flow,
        "can_edit": _can_edit(request),
        "palette": palette(),
        "cards": cards,
        "selected_card": find_card(cards, selected),
        "general_problems": [p for p in problems if p.step_id is None],
        "selected": str(step["id"]) if step else "",
        "into": into,
        "can_undo": bool(flow.undo),
        "can_redo": bool(flow.redo),
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
    if action is None:  # not supported yet: shown as it came, never changed here
        return {"step": step, "action": None, "kept_json": pretty_json(step)}
    mine = [p for p in problems if p.step_id == step_id]
    fields = field_views(action, params, mine, extra.get("typed"), extra.get("json_errors"))
    shown = previews.preview_in_flow(flow, step_id, action, params)
    for view in fields:
        view.preview = shown.inputs.get(view.spec.name)
    return {
        "step": step,
        "action": action,
        "fields": fields,
        "step_problems": _step_problems(action, mine),
        "warnings": shown.warnings,
        "readers": drafts.references_to(flow.draft, step_id),
        "variable_groups": picker_groups(flow, step_id),
        "custom_vars": custom_vars(params),
        "functions": FUNCTION_CALLS,
        **pin_context(flow, step_id, extra),
    }


def _step_problems(action: ActionType, mine: list[Problem]) -> list[Problem]:
    """The problems shown above the fields: the step's own, and its branches' (no field)."""
    branches = {spec.label for spec in action.inputs if spec.kind == BRANCH}
    return [
        p if p.input is None else Problem(f"{p.input}: {p.message}", p.step_id)
        for p in mine
        if p.input is None or p.input in branches
    ]


def page_context(
    request: HttpRequest, flow: Flow, selected: str | None, into: str | None = None, **extra
) -> dict:
    return editor_context(
        request,
        flow,
        selected,
        into=into,
        versions=_versions(flow),
        test_data_text=pretty_json(flow.test_data or {k: {} for k in TEST_DATA_KEYS}),
        **run_context(latest_test_run(flow)),
        **extra,
    )


def render_partials(
    request: HttpRequest, names: list[str], context: dict, oob: tuple[str, ...] = ()
) -> HttpResponse:
    """Render partials of the editor page one after another; those in ``oob`` swap by id."""
    html = "".join(
        render_to_string(f"{TEMPLATE}#{name}", {**context, "oob": name in oob}, request=request)
        for name in names
    )
    return HttpResponse(html)


def _back(flow: Flow, selected: str | None = None, into: str = "") -> HttpResponse:
    url = reverse("flow_editor", args=[flow.pk])
    if not selected:
        return redirect(url)
    return redirect(f"{url}?step={selected}&into={into}" if into else f"{url}?step={selected}")


FOCUS_KEY = "editor_focus"


def _canvas_reply(
    request: HtmxHttpRequest, flow: Flow, selected: str | None, *, inspector=True, **extra
) -> HttpResponse:
    if not request.htmx:
        if extra.get("focus_id"):
            request.session[FOCUS_KEY] = [flow.pk, extra["focus_id"]]
        return _back(flow, selected)
    flow.refresh_from_db()
    context = editor_context(request, flow, selected, **extra)
    names = ["canvas", "inspector"] if inspector else ["canvas"]
    return render_partials(request, names, context, oob=("canvas", "inspector"))


# --- Views -------------------------------------------------------------------------------


@require_GET
def flow_editor(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    context = page_context(request, flow, request.GET.get("step"), request.GET.get("into"))
    return render(request, TEMPLATE, {**context, "focus_id": _focus_after_reload(request, flow)})


def _focus_after_reload(request: HttpRequest, flow: Flow) -> str:
    """Where focus goes when an edit came as a plain form post (the page's script was not
    ready, or is off): the same place as after the htmx reply."""
    kept = request.session.pop(FOCUS_KEY, None)
    return str(kept[1]) if isinstance(kept, list) and kept[:1] == [flow.pk] else ""


@require_GET
def select_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Open a step in the inspector; the canvas comes along to mark it selected.

    With ``into`` (then/else) an If/then's branch becomes where the palette adds steps,
    and focus goes to the palette to choose one.
    """
    flow = _flow(pk)
    into = _into(_step_or_404(flow, step_id), request.GET.get("into"))
    if not request.htmx:
        return _back(flow, step_id, into)
    focus = {"focus_id": "palette-heading"} if into and _can_edit(request) else {}
    context = editor_context(request, flow, step_id, into=into, **focus)
    return render_partials(request, ["inspector", "canvas"], context, oob=("inspector", "canvas"))


@require_POST
@editor_required
def save_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Save the inspector form; the canvas and every field's errors come back out of band."""
    flow = _flow(pk)
    step, action = _step_and_action_or_404(flow, step_id)
    params, json_errors, typed = read_params(action, request.POST, step.get("params") or {})
    alias = request.POST.get("alias", "").strip()[:ALIAS_LIMIT]
    switches = {name: request.POST.get(name) == "on" for name in ("allow_failure", "mask_output")}
    definition = drafts.update_step(
        flow.draft, step_id, alias=alias or None, params=params, switches=switches
    )
    _save_typing(request, flow, step_id, definition)
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
    if any(name.endswith("-edit") for name in request.POST):
        # A builder button pressed without the builder's script: show the changed form.
        return render_partials(request, ["inspector", "saved"], context, oob=("inspector",))
    return render_partials(request, ["saved"], context)


TYPING_KEY = "editor_typing"


def _save_typing(request: HttpRequest, flow: Flow, step_id: str, definition: dict) -> None:
    """Save the inspector's form. A save as you type (``typing`` names the field) that goes
    on typing into the field the last one did, with no other change in between, joins that
    save in the undo history: Undo takes back the typing, not one pause of it at a time."""
    field = request.POST.get("typing", "")
    amend = bool(field) and request.session.get(TYPING_KEY) == _typing_mark(flow, step_id, field)
    changed = definition != flow.draft
    services.edit_draft(flow, definition, amend=amend)
    if field and changed:
        flow.refresh_from_db(fields=["updated_at"])
        request.session[TYPING_KEY] = _typing_mark(flow, step_id, field)


def _typing_mark(flow: Flow, step_id: str, field: str) -> list:
    return [flow.pk, step_id, field, flow.updated_at.isoformat()]


@require_POST
@editor_required
def rename_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    flow = _flow(pk)
    _step_or_404(flow, step_id)
    new_id = request.POST.get("new_id", "").strip()
    try:
        definition, rewritten = drafts.rename_step(flow.draft, step_id, new_id)
    except drafts.DraftError as exc:
        return _canvas_reply(request, flow, step_id, rename_error=str(exc), typed_id=new_id)
    services.edit_draft(flow, definition)
    left = drafts.references_to(definition, step_id) if new_id != step_id else []
    return _canvas_reply(request, flow, new_id, renamed=rewritten, still_reading=left)


@require_POST
@editor_required
def preview_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Render the step's templated inputs as typed, on the test data, for the live preview."""
    flow = _flow(pk)
    step, action = _step_and_action_or_404(flow, step_id)
    params, json_errors, _ = read_params(action, request.POST, step.get("params") or {})
    shown = previews.preview_in_flow(flow, step_id, action, params)
    for name, message in json_errors.items():
        shown.inputs[name] = previews.InputPreview(
            name, JSON_TEMPLATE, error=TemplateProblem(message)
        )
    fields = [FieldView(spec, preview=shown.inputs.get(spec.name)) for spec in action.inputs]
    fields = [view for view in fields if view.previewed]
    context = {"fields": fields, "warnings": shown.warnings, "piece_oob": True}
    return HttpResponse(render_to_string(f"{TEMPLATE}#previews", context, request=request))


@require_POST
@editor_required
def save_test_data(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    text = request.POST.get("test_data", "")
    data, error = parse_json(text)
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
    except services.NothingChanged as exc:
        return _publish_reply(request, flow, unchanged=exc.version)
    record(request.user, "flow.published", flow, {"version": version.number})
    return _publish_reply(request, flow, published=version)


def _publish_reply(request: HtmxHttpRequest, flow: Flow, **extra) -> HttpResponse:
    if not request.htmx:
        return _back(flow)
    context = {"flow": flow, "can_edit": True, "versions": _versions(flow), **extra}
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
    response = render_partials(request, ["test-run"], context)
    if run is not None and run.is_final:  # its outputs and variables feed the previews
        return trigger_client_event(response, "sluice:refresh-preview")
    return response


def run_context(run: Run | None) -> dict:
    """The last test run, its steps nested as on the run page."""
    return {"run": run, "run_steps": timeline(run) if run else []}


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
        "version_pins": [
            (step_id, pretty_json(out)) for step_id, out in pins_of(definition).items()
        ],
    }
    return render(request, TEMPLATE, context)


@require_POST
@editor_required
def restore_version(request: HtmxHttpRequest, pk: int, number: int) -> HttpResponse:
    flow = _flow(pk)
    version = get_object_or_404(FlowVersion, flow=flow, number=number)
    services.edit_draft(flow, version.definition)
    record(request.user, "flow.restored", flow, {"version": number})
    return _back(flow)


urlpatterns = [
    path("flows/<int:pk>/edit/", flow_editor, name="flow_editor"),
    path("flows/<int:pk>/edit/test-data/", save_test_data, name="editor_test_data"),
    path("flows/<int:pk>/edit/publish/", publish, name="editor_publish"),
    path("flows/<int:pk>/edit/test-run/", test_run, name="editor_test_run"),
    path("flows/<int:pk>/edit/test-run/<int:run_id>/", test_run_results, name="editor_run"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/", select_step, name="editor_step"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/save/", save_step, name="editor_save"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/rename/", rename_step, name="editor_rename"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/preview/", preview_step, name="editor_preview"),
    path("flows/<int:pk>/versions/<int:number>/", version_detail, name="flow_version"),
    path(
        "flows/<int:pk>/versions/<int:number>/restore/",
        restore_version,
        name="flow_version_restore",
    ),
]
