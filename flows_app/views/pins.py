"""The inspector's pinned output and one-step test: pin, check a pin as it is typed, unpin,
test one step and follow that test.

Pins go through ``flows_app.pins`` and ``services.edit_draft`` (so Undo takes them back);
with htmx the answer is the pin panel and the canvas, out of band, and the inspector's
form is left as it is. A refused pin changes nothing and comes back with what was typed.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from accounts_app.access import editor_required
from flows_app import services
from flows_app.definition import find
from flows_app.models import Flow, Run
from flows_app.pins import PinError, parse_pin, pin_problem, recorded_output, with_pin, without_pin
from flows_app.step_tests import CannotTest, start_step_test
from flows_app.views.editor import TEMPLATE, editor_context, page_context, render_partials
from flows_app.views.runs import HtmxHttpRequest
from flows_app.views.step_tools import step_test_context

PINNED = "Pinned. Test runs skip this step and use this output; published runs still run it."


def _flow_and_step(pk: int, step_id: str) -> tuple[Flow, dict]:
    flow = get_object_or_404(Flow, pk=pk)
    placed = find(flow.draft, step_id)
    if placed is None:
        raise Http404("No such step.")
    return flow, placed.step


def _editor_url(flow: Flow, step_id: str) -> str:
    return f"{reverse('flow_editor', args=[flow.pk])}?step={step_id}"


@require_POST
@editor_required
def pin_output(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Pin the JSON typed in the box, or (``from_run``) the step's output in a test run."""
    flow, _ = _flow_and_step(pk, step_id)
    typed = request.POST.get("output", "")
    from_run = request.POST.get("from_run", "")
    try:
        value = _run_output(flow, from_run, step_id) if from_run else parse_pin(typed)
        definition = with_pin(flow.draft, step_id, value)
    except PinError as exc:
        return _pin_reply(request, flow, step_id, pin_error=str(exc), pin_typed=typed)
    services.edit_draft(flow, definition)
    return _pin_reply(request, flow, step_id, pin_notice=PINNED)


def _run_output(flow: Flow, run_id: str, step_id: str):
    tests = (Run.Trigger.TEST, Run.Trigger.STEP)
    found = Run.objects.filter(flow=flow, trigger__in=tests)
    whole = run_id.isascii() and run_id.isdigit() and len(run_id) < 19
    run = found.filter(pk=int(run_id)).first() if whole else None
    if run is None:
        raise PinError("There is no such test run of this flow to pin an output from.")
    return recorded_output(run, step_id)


@require_POST
@editor_required
def unpin_output(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    flow, _ = _flow_and_step(pk, step_id)
    services.edit_draft(flow, without_pin(flow.draft, step_id))
    return _pin_reply(request, flow, step_id, pin_notice="Unpinned: test runs run this step again.")


def _pin_reply(request: HtmxHttpRequest, flow: Flow, step_id: str, **extra) -> HttpResponse:
    """The pin panel and the canvas; without htmx the editor page (the whole page, with
    what was typed, after a refusal)."""
    if not request.htmx:
        if extra.get("pin_error"):
            return render(request, TEMPLATE, page_context(request, flow, step_id, **extra))
        messages.success(request, extra.get("pin_notice", ""))
        return redirect(_editor_url(flow, step_id))
    flow.refresh_from_db()
    context = editor_context(request, flow, step_id, pin_oob=True, **extra)
    return render_partials(request, ["pin", "canvas"], context, oob=("canvas",))


@require_POST
@editor_required
def check_pin(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Say, as it is typed, whether the box holds an output this step can be pinned to."""
    _, step = _flow_and_step(pk, step_id)
    error = ""
    try:
        error = pin_problem(step, parse_pin(request.POST.get("output", "")))
    except PinError as exc:
        error = str(exc)
    context = {"pin_check": error or "Valid JSON: ready to pin.", "pin_check_ok": not error}
    return HttpResponse(render_to_string(f"{TEMPLATE}#pin-check", context, request=request))


@require_POST
@editor_required
def test_one_step(request: HtmxHttpRequest, pk: int, step_id: str) -> HttpResponse:
    """Run only this step (in the background, like Run test) and show it as it goes."""
    flow, step = _flow_and_step(pk, step_id)
    try:
        run = start_step_test(flow, step_id, user=request.user)
    except CannotTest as exc:
        return _step_test_reply(request, flow, step, None, step_test_error=str(exc))
    except services.InvalidFlow as exc:
        problems = "; ".join(p.message for p in exc.problems)
        error = f"Fix this step's problems first: {problems}"
        return _step_test_reply(request, flow, step, None, step_test_error=error)
    run.refresh_from_db()
    return _step_test_reply(request, flow, step, run)


@require_GET
def step_test_result(request: HtmxHttpRequest, pk: int, step_id: str, run_id: int) -> HttpResponse:
    flow, step = _flow_and_step(pk, step_id)
    run = get_object_or_404(Run, pk=run_id, flow=flow, trigger=Run.Trigger.STEP)
    return _step_test_reply(request, flow, step, run)


def _step_test_reply(
    request: HtmxHttpRequest, flow: Flow, step: dict, run: Run | None, **extra
) -> HttpResponse:
    if not request.htmx:
        if run is None:
            messages.error(request, extra.get("step_test_error", ""))
            return redirect(_editor_url(flow, str(step["id"])))
        return redirect("run_detail", pk=run.pk)
    context = {
        "flow": flow,
        "step": step,
        "can_edit": bool(getattr(request.user, "can_edit_flows", False)),
        **step_test_context(run),
        **extra,
    }
    return HttpResponse(render_to_string(f"{TEMPLATE}#step-test", context, request=request))


urlpatterns = [
    path("flows/<int:pk>/edit/steps/<str:step_id>/pin/", pin_output, name="editor_pin"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/pin/check/", check_pin, name="editor_pin_check"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/unpin/", unpin_output, name="editor_unpin"),
    path("flows/<int:pk>/edit/steps/<str:step_id>/test/", test_one_step, name="editor_step_test"),
    path(
        "flows/<int:pk>/edit/steps/<str:step_id>/test/<int:run_id>/",
        step_test_result,
        name="editor_step_test_run",
    ),
]
