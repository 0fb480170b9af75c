"""What the flow's latest test run knows about the steps before a step, for the editor.

Previews and the variable picker read, from the latest test run: the output of each earlier
step that succeeded, the steps it skipped, and the shared variables as they stood before
the step. A masked output is known only by its shape: its field names, every value
``MASK``; its values never leave the run record's sealed copy.

The draft's pinned outputs win over the run: a pinned step is known by its pin (a masked
one by the pin's shape), whatever the run did, and a pinned Store shared variables step's
variables are stored over the ones the run knew, in the order of the steps.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from flows_app.definition import action_of, all_steps
from flows_app.models import Flow, Run, StepRun
from flows_app.pins import pins_of
from flows_app.redaction import MASK, unseal_output

SHAPE_DEPTH = 6  # levels of a masked output kept as a shape; deeper values are MASK


@dataclass
class Known:
    """What the latest test run recorded of some steps (none when there is no test run)."""

    tested: bool = False  # whether there is a test run at all
    outputs: dict[str, Any] = field(default_factory=dict)  # of the steps that succeeded
    masked: set[str] = field(default_factory=set)  # outputs known only by their shape
    skipped: set[str] = field(default_factory=set)
    recorded: set[str] = field(default_factory=set)  # every step it has a record of
    vars: dict[str, Any] | None = None  # after the last of them that set some, in run order
    pinned: set[str] = field(default_factory=set)  # known by the draft's pins, not the run


def latest_test_run(flow: Flow) -> Run | None:
    return flow.runs.filter(trigger=Run.Trigger.TEST).order_by("-created_at", "-id").first()


DONE = (StepRun.Status.SUCCEEDED, StepRun.Status.PINNED)


def known_before(flow: Flow, step_ids: Collection[str], *, reveal: bool = False) -> Known:
    """What the latest test run and the draft's pins know of ``step_ids``, the steps that
    run before a step.

    ``vars`` are the shared variables the run recorded after the last of these steps, in
    the order the run took them, that set some: as they stood when the run went on along
    its path towards the step. None when none of them set any (or ran), and no pin set any.
    ``reveal`` gives masked outputs as they are (to run a step on), not by their shape.
    """
    run = latest_test_run(flow)
    known = Known(tested=run is not None)
    if run is not None and step_ids:
        _add_run(known, run, step_ids, reveal)
    _add_pins(known, flow, step_ids, reveal)
    return known


def _add_run(known: Known, run: Run, step_ids: Collection[str], reveal: bool) -> None:
    records = list(run.steps.filter(step_id__in=list(step_ids)))
    for record in records:
        known.recorded.add(record.step_id)
        if record.status == StepRun.Status.SKIPPED:
            known.skipped.add(record.step_id)
        elif record.status in DONE:
            _add_output(known, record, reveal)
    setters = [r for r in records if r.status in DONE and r.vars is not None]
    if setters:
        latest = max(setters, key=lambda record: record.position)
        known.vars = latest.vars if isinstance(latest.vars, dict) else {}


def _add_output(known: Known, record: StepRun, reveal: bool) -> None:
    if record.sealed_output:
        output = unseal_output(record.sealed_output)
        known.outputs[record.step_id] = output if reveal else masked_shape(output)
        known.masked.add(record.step_id)
    else:
        known.outputs[record.step_id] = record.output


def _add_pins(known: Known, flow: Flow, step_ids: Collection[str], reveal: bool) -> None:
    pins = pins_of(flow.draft)
    wanted = set(step_ids)
    for step in all_steps(flow.draft) if pins else ():
        step_id = str(step.get("id"))
        if step_id not in pins or step_id not in wanted:
            continue
        masked = step.get("mask_output") is True
        output = pins[step_id]
        known.outputs[step_id] = masked_shape(output) if masked and not reveal else output
        known.masked.discard(step_id)
        known.masked |= {step_id} if masked else set()
        known.skipped.discard(step_id)
        known.recorded.add(step_id)
        known.pinned.add(step_id)
        action = action_of(step)
        if action and action.extra.get("effect") == "vars" and isinstance(output, dict):
            shown = dict.fromkeys(output, MASK) if masked and not reveal else output
            base = known.vars if known.vars is not None else _test_vars(flow)
            known.vars = {**base, **shown}


def _test_vars(flow: Flow) -> dict[str, Any]:
    data = flow.test_data if isinstance(flow.test_data, dict) else {}
    given = data.get("vars")
    return dict(given) if isinstance(given, dict) else {}


def masked_shape(value: Any, depth: int = SHAPE_DEPTH) -> Any:
    """``value`` with its object keys kept and every value replaced by ``MASK``; a list keeps
    only its first item's shape (so not even its length shows)."""
    if depth > 0 and isinstance(value, dict):
        return {str(key): masked_shape(item, depth - 1) for key, item in value.items()}
    if depth > 0 and isinstance(value, list):
        return [masked_shape(value[0], depth - 1)] if value else []
    return MASK
