"""The editor's changes to the shape of the draft: add, move, duplicate and delete steps,
undo and redo. Each answers with the canvas (see ``editor._canvas_reply``), and names the
element that keyboard focus goes to."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from accounts_app.access import editor_required
from flows_app import drafts, services
from flows_app.actions import ACTION_TYPES
from flows_app.definition import find, steps_of
from flows_app.models import Flow
from flows_app.views.editor import _canvas_reply, _flow, _into
from flows_app.views.runs import HtmxHttpRequest


def _selected(request: HttpRequest) -> str | None:
    return request.POST.get("selected") or request.POST.get("after") or None


def _dropped_at(request: HttpRequest) -> tuple[str | None, str | None]:
    """The list a drag ended in: (parent, branch), or (None, None) for the top level."""
    parent = request.POST.get("parent") or None
    return parent, (request.POST.get("branch") or None) if parent else None


def _add_target(request: HttpRequest) -> tuple[str | None, str]:
    """The step a palette Add goes after, or into a branch of: the canvas's current choice
    when htmx sent it along, else the one the page was rendered with (no JavaScript)."""
    if "selected" in request.POST:
        return request.POST["selected"] or None, request.POST.get("into", "")
    return request.POST.get("after") or None, request.POST.get("after_into", "")


def _add_place(request: HttpRequest, definition: dict) -> tuple[int, str | None, str | None]:
    """Where a new step goes, as (position, parent, branch): where it was dropped, else at
    the end of the chosen branch, else after the selected step, else at the flow's end."""
    raw = request.POST.get("position", "")
    if raw.isdigit():
        return int(raw), *_dropped_at(request)
    after, into = _add_target(request)
    placed = find(definition, after) if after else None
    if placed is None:
        return len(steps_of(definition)), None, None
    if _into(placed.step, into):
        return len(drafts.branch_of(placed.step, into) or []), after, into
    return placed.index + 1, placed.parent, placed.branch


def _refused(request: HtmxHttpRequest, flow: Flow, error: drafts.DraftError) -> HttpResponse:
    """An edit the draft cannot take: say why on the canvas, or on the page without htmx."""
    if not request.htmx:
        messages.error(request, str(error))
    return _canvas_reply(request, flow, _selected(request), inspector=False, notice=str(error))


@require_POST
@editor_required
def add_step(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Add a step where it was dropped, or with the palette's buttons (see ``_add_place``)."""
    flow = _flow(pk)
    action = ACTION_TYPES.get(request.POST.get("action", ""))
    if action is None:
        return HttpResponse("Unknown action.", status=400)
    position, parent, branch = _add_place(request, flow.draft)
    try:
        definition, step_id = drafts.insert_step(flow.draft, action, position, parent, branch)
    except drafts.DraftError as exc:
        return _refused(request, flow, exc)
    services.edit_draft(flow, definition)
    # Focus (and so the view) goes to the new step: on a phone the canvas is far below.
    return _canvas_reply(request, flow, step_id, focus_id=f"select-{step_id}")


@require_POST
@editor_required
def move_step(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Move a step to ``position`` of a list (``parent`` and ``branch``; none for the top
    level), or one place ``up``/``down`` through the tree; focus stays on it."""
    flow = _flow(pk)
    step_id = request.POST.get("step", "")
    placed = find(flow.draft, step_id) if step_id else None
    if placed is None:
        raise Http404("No such step.")
    direction = request.POST.get("direction", "")
    raw = request.POST.get("position", "")
    try:
        if direction in (drafts.UP, drafts.DOWN):
            definition = drafts.shift_step(flow.draft, step_id, direction)
        else:
            position = int(raw) if raw.isdigit() else placed.index
            definition = drafts.move_step(flow.draft, step_id, position, *_dropped_at(request))
    except drafts.DraftError as exc:
        return _refused(request, flow, exc)
    services.edit_draft(flow, definition)
    focus_id = _focus_after_move(definition, step_id, direction)
    return _canvas_reply(request, flow, _selected(request), inspector=False, focus_id=focus_id)


def _focus_after_move(definition: dict, step_id: str, direction: str) -> str:
    """The moved step's button that was pressed, or its twin when that one is now disabled."""
    placed = find(definition, step_id)
    if direction not in (drafts.UP, drafts.DOWN) or placed is None:
        return f"select-{step_id}"
    other = drafts.DOWN if direction == drafts.UP else drafts.UP
    return f"{direction if drafts.can_shift(placed, direction) else other}-{step_id}"


@require_POST
@editor_required
def duplicate_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    flow = _flow(pk)
    try:
        definition, twin = drafts.duplicate_step(flow.draft, step_id)
    except drafts.DraftError as exc:
        raise Http404(str(exc)) from None
    services.edit_draft(flow, definition)
    return _canvas_reply(request, flow, twin, focus_id=f"select-{twin}")


@require_POST
@editor_required
def delete_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    flow = _flow(pk)
    try:
        services.edit_draft(flow, drafts.remove_step(flow.draft, step_id))
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
    focus_id = _history_focus(flow, "undo", "redo")
    return _canvas_reply(request, flow, _selected(request), notice=notice, focus_id=focus_id)


@require_POST
@editor_required
def redo(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = _flow(pk)
    done = services.redo_edit(flow)
    notice = "" if done else "Nothing to redo."
    focus_id = _history_focus(flow, "redo", "undo")
    return _canvas_reply(request, flow, _selected(request), notice=notice, focus_id=focus_id)


def _history_focus(flow: Flow, pressed: str, other: str) -> str:
    """The button that was pressed, or the other one once there is nothing left to press."""
    flow.refresh_from_db(fields=["undo", "redo"])
    return f"{pressed if getattr(flow, pressed) else other}-button"


urlpatterns = [
    path("flows/<int:pk>/edit/add/", add_step, name="editor_add"),
    path("flows/<int:pk>/edit/move/", move_step, name="editor_move"),
    path("flows/<int:pk>/edit/undo/", undo, name="editor_undo"),
    path("flows/<int:pk>/edit/redo/", redo, name="editor_redo"),
    path(
        "flows/<int:pk>/edit/steps/<str:step_id>/duplicate/",
        duplicate_step,
        name="editor_duplicate",
    ),
    path("flows/<int:pk>/edit/steps/<str:step_id>/delete/", delete_step, name="editor_delete"),
]
