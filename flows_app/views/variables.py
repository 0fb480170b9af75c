"""The inspector's variable picker: what a step's templates can read, in groups.

- **Test data**: the paths of the test data's ``context`` and ``fields``.
- **Shared variables**: ``vars`` as they stood before the step in the latest test run (else
  the test data's), and the names that earlier Store shared variables steps of the draft
  set, which that run may not know yet.
- **One group per earlier step**: the fields of its pinned output, or of its output in the
  latest test run, or else the action's documented output shape
  (``ActionType.output_fields``); a masked output is listed by its field names only. A step
  that allows failure adds its ``error`` fields.

Paths go a few levels deep and a group lists at most ``GROUP_LIMIT`` of them, saying how
many more there are. The picker shows paths and descriptions, never a value.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from flows_app import preview as previews
from flows_app.actions.base import FAILURE_FIELDS, OutputField
from flows_app.definition import action_of, all_steps
from flows_app.latest_run import Known, known_before
from flows_app.liquid_functions import FUNCTIONS
from flows_app.models import Flow

TEST_DATA_KEYS = ("context", "fields", "vars")
PATH_DEPTH = 3  # levels below a test data key, a variable or a step's output
GROUP_LIMIT = 40
FUNCTION_CALLS = [f"functions.{name}()" for name in sorted(FUNCTIONS)]
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")  # a key Liquid reads after a dot


@dataclass(frozen=True)
class Variable:
    """A path the picker inserts; ``note`` says when it may be undefined."""

    path: str
    note: str = ""
    description: str = ""


@dataclass
class VariableGroup:
    """A heading and its paths; ``source`` says where they come from, ``more`` how many
    paths were left out to keep the list short."""

    heading: str
    source: str = ""
    variables: list[Variable] = field(default_factory=list)
    more: int = 0


def paths(value: Any, prefix: str, depth: int = PATH_DEPTH) -> list[str]:
    """``prefix`` and the paths below it, in name order, ``depth`` levels deep; a list of
    objects is read through its first item (``identities[0].provider``)."""
    found = [prefix]
    if depth == 0:
        return found
    if isinstance(value, dict):
        for key in sorted(k for k in value if isinstance(k, str) and NAME.match(k)):
            found += paths(value[key], f"{prefix}.{key}", depth - 1)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        found += paths(value[0], f"{prefix}[0]", depth - 1)[1:]
    return found


def picker_groups(flow: Flow, step_id: str) -> list[VariableGroup]:
    """The groups of variables a template of this step can read."""
    earlier = previews.readable_steps(flow.draft, step_id)
    known = known_before(flow, [r.step_id for r in earlier])
    steps = {str(step.get("id")): step for step in all_steps(flow.draft)}
    data = flow.test_data if isinstance(flow.test_data, dict) else {}
    groups = [_test_data(data), _shared_variables(data, known, earlier, steps)]
    for readable in earlier:
        step = steps.get(readable.step_id) or {}
        groups.append(_step_group(step, readable, known))
    return [group for group in groups if group.variables]


def variables(flow: Flow, step_id: str) -> list[Variable]:
    """Every variable of the picker, group after group."""
    return [v for group in picker_groups(flow, step_id) for v in group.variables]


def _capped(group: VariableGroup, found: list[Variable]) -> VariableGroup:
    group.variables = found[:GROUP_LIMIT]
    group.more = max(0, len(found) - GROUP_LIMIT)
    return group


def _test_data(data: dict) -> VariableGroup:
    found = []
    for key in ("context", "fields"):
        if isinstance(data.get(key), dict):
            found += [Variable(path) for path in paths(data[key], key)[1:]]
    return _capped(VariableGroup("Test data"), found)


def _shared_variables(data: dict, known: Known, earlier, steps: dict) -> VariableGroup:
    if known.vars is None:
        values = data.get("vars") if isinstance(data.get("vars"), dict) else {}
        source = "from the test data"
    elif not known.tested:
        values, source = known.vars, "from the test data and the pinned outputs"
    else:
        values, source = known.vars, "as they stood before this step in the latest test run"
    found = [Variable(path) for path in paths(values, "vars")[1:]]
    listed = {v.path for v in found}
    for readable in earlier:
        step = steps.get(readable.step_id) or {}
        action = action_of(step)
        if action is None or action.extra.get("effect") != "vars":
            continue
        for output_field in action.documented_output(step.get("params")):
            path = f"vars.{output_field.path}"
            if path not in listed:
                listed.add(path)
                note = " ".join(filter(None, [f"set by {readable.step_id}", readable.note]))
                found.append(Variable(path, note))
    return _capped(VariableGroup("Shared variables", source), found)


def _step_group(step: dict, readable: previews.Readable, known: Known) -> VariableGroup:
    action = action_of(step)
    label = action.label if action else f"{step.get('type')}/{step.get('action')}"
    prefix = f"actions.{readable.step_id}"
    documented = action.documented_output(step.get("params")) if action else ()
    found, source = _output_paths(prefix, documented, readable.step_id, known)
    if action is None:
        source = "Sluice does not support this action yet"
    described = {f"{prefix}.{f.path}": f.description for f in documented}
    if step.get("allow_failure") is True:
        described |= {f"{prefix}.{f.path}": f.description for f in FAILURE_FIELDS}
        found += [f"{prefix}.{f.path}" for f in FAILURE_FIELDS if f"{prefix}.{f.path}" not in found]
    group = VariableGroup(f"{prefix} · {step.get('alias') or label}", source)
    variables = [Variable(path, readable.note, described.get(path, "")) for path in found]
    return _capped(group, variables)


def _output_paths(
    prefix: str, documented: tuple[OutputField, ...], step_id: str, known: Known
) -> tuple[list[str], str]:
    """The paths of a step's output in the latest test run, else its documented ones, and
    where they come from."""
    if step_id in known.pinned:
        masked = "masked: field names of its pinned output"
        source = masked if step_id in known.masked else "fields of its pinned output"
        return paths(known.outputs[step_id], prefix), source
    if step_id in known.masked:
        return paths(known.outputs[step_id], prefix), "masked: field names from the latest test run"
    if step_id in known.outputs:
        return paths(known.outputs[step_id], prefix), "fields from the latest test run"
    found = [prefix] + [f"{prefix}.{f.path}" for f in documented]
    if not documented:
        return found, "no output fields"
    if step_id in known.skipped:
        return found, "documented fields (the latest test run skipped it)"
    return found, "documented fields (no output in the latest test run)"


def custom_vars(params: dict) -> list[Variable]:
    value = params.get("custom_vars")
    return [Variable(f"custom_vars.{k}") for k in value if k] if isinstance(value, dict) else []
