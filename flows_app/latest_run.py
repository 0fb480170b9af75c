"""What the flow's latest test run knows about the steps before a step, for the editor.

Previews and the variable picker read, from the latest test run: the output of each earlier
step that succeeded, the steps it skipped, and the shared variables as they stood before
the step. A masked output is known only by its shape: its field names, every value
``MASK``; its values never leave the run record's sealed copy.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from flows_app.models import Flow, Run, StepRun
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


def latest_test_run(flow: Flow) -> Run | None:
    return flow.runs.filter(trigger=Run.Trigger.TEST).order_by("-created_at", "-id").first()


def known_before(flow: Flow, step_ids: Collection[str]) -> Known:
    """What the latest test run knows of ``step_ids``, the steps that run before a step.

    ``vars`` are the shared variables the run recorded after the last of these steps, in
    the order the run took them, that set some: as they stood when the run went on along
    its path towards the step. None when none of them set any (or ran).
    """
    run = latest_test_run(flow)
    known = Known(tested=run is not None)
    if run is None or not step_ids:
        return known
    records = list(run.steps.filter(step_id__in=list(step_ids)))
    for record in records:
        known.recorded.add(record.step_id)
        if record.status == StepRun.Status.SKIPPED:
            known.skipped.add(record.step_id)
        elif record.status == StepRun.Status.SUCCEEDED:
            _add_output(known, record)
    setters = [r for r in records if r.status == StepRun.Status.SUCCEEDED and r.vars is not None]
    if setters:
        latest = max(setters, key=lambda record: record.position)
        known.vars = latest.vars if isinstance(latest.vars, dict) else {}
    return known


def _add_output(known: Known, record: StepRun) -> None:
    if record.sealed_output:
        known.outputs[record.step_id] = masked_shape(unseal_output(record.sealed_output))
        known.masked.add(record.step_id)
    else:
        known.outputs[record.step_id] = record.output


def masked_shape(value: Any, depth: int = SHAPE_DEPTH) -> Any:
    """``value`` with its object keys kept and every value replaced by ``MASK``; a list keeps
    only its first item's shape (so not even its length shows)."""
    if depth > 0 and isinstance(value, dict):
        return {str(key): masked_shape(item, depth - 1) for key, item in value.items()}
    if depth > 0 and isinstance(value, list):
        return [masked_shape(value[0], depth - 1)] if value else []
    return MASK
