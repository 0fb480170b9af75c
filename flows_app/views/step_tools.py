"""What the inspector shows below a step's settings: its pinned output and its one-step test.

The views that change them are in ``flows_app.views.pins``; this module only builds their
context, so the editor can show them without importing those views.
"""

from typing import Any

from flows_app.latest_run import latest_test_run
from flows_app.models import Flow, Run, StepRun
from flows_app.pins import pins_of
from flows_app.views.timeline import pretty_json, timeline


def pin_context(flow: Flow, step_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The pin panel: whether the step is pinned, the JSON in its box (as typed, after a
    refusal), and the latest test run when it has an output of the step to pin."""
    pins = pins_of(flow.draft)
    pinned = step_id in pins
    typed = extra.get("pin_typed")
    return {
        "pinned": pinned,
        "pin_text": typed if typed is not None else pretty_json(pins[step_id]) if pinned else "",
        "pin_run": None if pinned else _run_with_output(flow, step_id),
    }


def _run_with_output(flow: Flow, step_id: str) -> Run | None:
    run = latest_test_run(flow)
    if run is None:
        return None
    done = (StepRun.Status.SUCCEEDED, StepRun.Status.PINNED)
    usable = run.steps.filter(step_id=step_id, status__in=done, sealed_output="").exists()
    return run if usable else None


def step_test_context(run: Run | None) -> dict[str, Any]:
    """The one-step test panel: the test's run and its one step, nested as on the run page."""
    succeeded = run is not None and run.status == Run.Status.SUCCEEDED
    record = run.steps.first() if succeeded and run else None
    return {
        "step_run": run,
        "step_run_steps": timeline(run) if run else [],
        "step_run_pinnable": bool(record and not record.sealed_output),
    }
