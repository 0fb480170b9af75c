"""Live previews of a step's inputs: the same rendering a run uses, on the flow's test data.

A step reads the outputs, from the flow's latest test run, of the steps that run before it
(``readable_steps``): inside an If/then branch, the steps before the If/then, the If/then
itself and the earlier steps of the same branch; after an If/then, the steps of both its
branches too, which ran only if their branch was taken. It reads the shared variables as
the run recorded them after the last of those steps that set some (see
``flows_app.latest_run``), and the test data's ``vars`` when none did.
"""

import json
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings

from flows_app import conditions, templating
from flows_app.actions.base import (
    CONDITION,
    HTML_TEMPLATE,
    RENDERED_KINDS,
    TEMPLATE_OR_NUMBER,
    XML_TEMPLATE,
    ActionType,
)
from flows_app.actions.logic import UNIT_SECONDS, delay_seconds
from flows_app.definition import action_of, all_steps, walk
from flows_app.inputs import InputError, render_inputs
from flows_app.latest_run import Known, known_before
from flows_app.models import Flow
from vault_app.clients.sms import sms_segments

VALUE_LIMIT = 120  # characters of an operand shown in a condition's preview


@dataclass
class CheckLine:
    """One line of a condition's preview: a group (all of / any of) or a comparison."""

    depth: int
    label: str
    result: bool
    group: bool = False
    values: list[tuple[str, bool]] = field(default_factory=list)  # (as shown, defined)


@dataclass
class InputPreview:
    name: str
    kind: str
    text: str = ""
    error: templating.TemplateProblem | None = None
    sms: dict[str, Any] | None = None
    summary: str = ""  # one sentence: which branch a condition takes, how long a delay waits
    alert: str = ""  # what would go wrong in a run
    checks: list[CheckLine] = field(default_factory=list)


@dataclass
class StepPreview:
    inputs: dict[str, InputPreview] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


Chain = tuple[tuple[str, str], ...]  # the (If/then id, branch) pairs around a step


@dataclass(frozen=True)
class Readable:
    """A step whose output another step may read, and the branches it needs to have run:
    ``only_if`` holds (If/then id, "then" or "else") pairs, outermost first."""

    step_id: str
    only_if: Chain = ()

    @property
    def note(self) -> str:
        taken = " and ".join(f"{cond} took {branch.title()}" for cond, branch in self.only_if)
        return f"only if {taken}" if taken else ""


def readable_steps(definition: dict, step_id: str) -> list[Readable]:
    """The steps that run before ``step_id``, in order; [] when there is no such step."""
    chains: dict[str, Chain] = {}
    seen: list[Readable] = []
    for placed in walk(definition):
        if not isinstance(placed.step, dict):
            continue
        own = str(placed.step.get("id"))
        chain: Chain = ()
        if placed.parent is not None:
            chain = (*chains.get(placed.parent, ()), (placed.parent, str(placed.branch)))
        if own == step_id:
            return [r for r in (_seen_from(earlier, chain) for earlier in seen) if r]
        chains.setdefault(own, chain)
        seen.append(Readable(own, chain))
    return []


def _seen_from(earlier: Readable, chain: Chain) -> Readable | None:
    """``earlier`` as a step inside ``chain`` sees it; None when they are in opposite
    branches of one If/then, so that one never runs when the other does."""
    shared = 0
    for mine, theirs in zip(earlier.only_if, chain, strict=False):
        if mine != theirs:
            if mine[0] == theirs[0]:
                return None
            break
        shared += 1
    return Readable(earlier.step_id, earlier.only_if[shared:])


def _scope(data: Any, known: Known) -> dict[str, Any]:
    data = data if isinstance(data, dict) else {}
    return {
        "context": data.get("context") or {},
        "fields": data.get("fields") or {},
        "vars": (data.get("vars") or {}) if known.vars is None else known.vars,
        "actions": known.outputs,
    }


def scope_for(flow: Flow, step_id: str, test_data: dict | None = None) -> dict[str, Any]:
    """What a step's templates read in a preview: the test data's context and fields, and
    from the latest test run the outputs of the steps before this one and the shared
    variables as they stood before it (the test data's ``vars`` when it set none yet)."""
    data = flow.test_data if test_data is None else test_data
    earlier = readable_steps(flow.draft, step_id)
    return _scope(data, known_before(flow, [r.step_id for r in earlier]))


def preview_in_flow(flow: Flow, step_id: str, action: ActionType, params: dict) -> StepPreview:
    """Preview a step of a flow on its test data and its latest test run."""
    earlier = readable_steps(flow.draft, step_id)
    known = known_before(flow, [r.step_id for r in earlier])
    with templating.cpu_budget(templating.PREVIEW_CPU_SECONDS):  # previews answer as you type
        shown = preview_step(action, params, _scope(flow.test_data, known), skipped=known.skipped)
    reasons = _unrecorded_setters(flow.draft, earlier, known) | _missing_outputs(earlier, known)
    shown.warnings = [_why_unknown(w, reasons) for w in shown.warnings]
    return shown


def _missing_outputs(earlier: list[Readable], known: Known) -> dict[str, str]:
    """The earlier steps that have no output in the latest test run, and why."""
    why = {}
    for readable in earlier:
        step_id = readable.step_id
        if step_id in known.outputs or step_id in known.skipped:
            continue  # a skipped step is explained by preview_step
        if step_id in known.recorded:
            why[f"actions.{step_id}"] = f"step {step_id} did not succeed in the last test run"
        elif known.tested:
            why[f"actions.{step_id}"] = (
                f"the last test run has no output of step {step_id}: run a test to preview it"
            )
        else:
            why[f"actions.{step_id}"] = f"no test run yet: run a test to preview step {step_id}"
    return why


def _unrecorded_setters(definition: dict, earlier: list[Readable], known: Known) -> dict[str, str]:
    """Shared variables that an earlier step of the draft stores but the latest test run
    did not run (newer than the run, or skipped): ``vars.<name>`` → why it has no value."""
    steps = {str(step.get("id")): step for step in all_steps(definition)}
    why = {}
    for readable in earlier:
        step = steps.get(readable.step_id) or {}
        action = action_of(step)
        if action is None or action.extra.get("effect") != "vars":
            continue
        if readable.step_id in known.skipped:
            reason = f"step {readable.step_id} stores it, but the last test run skipped it"
        elif not known.tested:
            reason = f"step {readable.step_id} stores it: run a test to preview it"
        elif readable.step_id not in known.recorded:
            reason = (
                f"step {readable.step_id} stores it, but the last test run did not run that "
                "step: run a test to preview it"
            )
        else:
            continue
        for output_field in action.documented_output(step.get("params")):
            why[f"vars.{output_field.path}"] = reason
    return why


def _why_unknown(warning: str, reasons: dict[str, str]) -> str:
    """``x is undefined``, with why when the variable's root (``vars.plan``,
    ``actions.get_user``) is one the latest test run could not know."""
    path = warning.removesuffix(" is undefined")
    root = ".".join(path.split("[")[0].split(".")[:2])
    if path == warning or root not in reasons:
        return warning
    return f"{warning}: {reasons[root]}"


def preview_step(
    action: ActionType,
    params: dict,
    scope: dict[str, Any],
    skipped: Collection[str] = (),
) -> StepPreview:
    """Render every templated input of a step; an error is shown on its own input.

    ``skipped`` names the steps the latest test run skipped, so that a warning about
    reading one says why it is undefined.
    """
    result = StepPreview()
    for spec in action.inputs:
        if spec.kind not in RENDERED_KINDS and spec.kind != CONDITION:
            continue
        if spec.kind == CONDITION and _unknown_shape(spec.name, params, result):
            continue
        try:
            rendered = render_inputs(_only(action, spec.name), _with_vars(params, spec), scope)
        except InputError as exc:
            result.inputs[spec.name] = InputPreview(spec.name, spec.kind, error=exc.error.problem)
            continue
        value = rendered.values.get(spec.name)
        if spec.kind == CONDITION:
            result.inputs[spec.name] = preview_condition(spec.name, value)
        else:
            shown = InputPreview(spec.name, spec.kind, text=_text(value, spec.kind))
            result.inputs[spec.name] = shown
        result.warnings += [w for w in rendered.warnings if w not in result.warnings]
    result.warnings = [_why_undefined(w, skipped) for w in result.warnings]
    warn = action.extra.get("warn")  # an action's own advice on its params
    result.warnings += list(warn(params)) if warn else []
    _add_sms_counts(action, result)
    _add_delay(action, params, result)
    return result


def _why_undefined(warning: str, skipped: Collection[str]) -> str:
    path = warning.removesuffix(" is undefined")
    parts = path.split(".")
    if path == warning or parts[0] != "actions" or len(parts) < 2:
        return warning
    step_id = parts[1].split("[")[0]
    if step_id not in skipped:
        return warning
    return f"{warning}: step {step_id} was skipped in the last test run (its branch was not taken)"


# --- Conditions and delays -----------------------------------------------------------------


def _unknown_shape(name: str, params: dict, result: StepPreview) -> bool:
    """Say so when a condition is of a shape Sluice cannot evaluate (it is not rendered)."""
    value = params.get(name)
    problems = [] if value is None else list(conditions.shape_problems(value))
    if problems:
        alert = f"Sluice cannot evaluate this condition, so a run would fail here: {problems[0]}"
        result.inputs[name] = InputPreview(name, CONDITION, alert=alert)
    return bool(problems)


def preview_condition(name: str, rendered: Any) -> InputPreview:
    """Each comparison with its values and outcome, and the branch the condition takes."""
    rendered = conditions.empty_condition() if rendered is None else rendered
    result = conditions.evaluate(rendered).result
    shown = InputPreview(name, CONDITION)
    shown.summary = (
        f"With the current test data this takes the {'Then' if result else 'Else'} branch "
        f"(result: {_json(result)})."
    )
    nodes = rendered["operands"] if conditions.is_group(rendered) else [rendered]
    for node in nodes:
        shown.checks += _check_lines(node, 0)
    if not nodes:
        label = conditions.LABELS[rendered["operator"]]
        shown.text = f"No conditions yet: an empty “{label}” group is {_json(result)}."
    return shown


def _check_lines(node: dict, depth: int) -> list[CheckLine]:
    result = conditions.evaluate(node).result
    operator = node["operator"]
    if conditions.is_group(node):
        lines = [CheckLine(depth, conditions.LABELS[operator], result, group=True)]
        for child in node["operands"]:
            lines += _check_lines(child, depth + 1)
        return lines
    defined = node.get("defined") or [True] * len(node["operands"])
    values = [_shown_value(v, d) for v, d in zip(node["operands"], defined, strict=False)]
    return [CheckLine(depth, conditions.LABELS[operator], result, values=values)]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _shown_value(value: Any, defined: bool) -> tuple[str, bool]:
    if not defined:
        return "undefined", False
    text = _json(value)
    if len(text) > VALUE_LIMIT:
        text = text[: VALUE_LIMIT - 1] + "…"
    return text, True


def _add_delay(action: ActionType, params: dict, result: StepPreview) -> None:
    if action.key != "FLOW/DELAY_FLOW":
        return
    number, units = params.get("number"), params.get("units") or "SECONDS"
    seconds = delay_seconds(number, units)
    shown = InputPreview("units", "choice")  # shown after both of the delay's fields
    if seconds is None:
        shown.summary = "Waits for a whole number of seconds, minutes, hours or days."
    else:
        shown.summary = f"Waits {duration(seconds // UNIT_SECONDS[units], units)}."
        if seconds > settings.MAX_DELAY:
            shown.alert = (
                f"That is longer than the longest delay allowed, {longest_delay()} "
                "(SLUICE_MAX_DELAY): a run would fail at this step."
            )
    result.inputs["units"] = shown


def duration(number: int, units: str) -> str:
    """``5 minutes``, ``1 day``."""
    unit = units.lower() if number != 1 else units.lower()[:-1]
    return f"{number} {unit}"


def longest_delay() -> str:
    """The longest delay allowed, in the largest unit that measures it whole."""
    seconds = settings.MAX_DELAY
    units = next(u for u, size in reversed(UNIT_SECONDS.items()) if seconds % size == 0)
    return duration(seconds // UNIT_SECONDS[units], units)


# --- Helpers -------------------------------------------------------------------------------


def _only(action: ActionType, name: str) -> ActionType:
    """The action with just one input (and custom variables, which it may use)."""
    keep = tuple(s for s in action.inputs if s.name in (name, "custom_vars"))
    return replace(action, inputs=keep)


def _with_vars(params: dict, spec) -> dict:
    if spec.uses_custom_vars:
        return params
    return {k: v for k, v in params.items() if k == spec.name}


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and kind in (
        "template",
        HTML_TEMPLATE,
        XML_TEMPLATE,
        TEMPLATE_OR_NUMBER,
    ):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def _add_sms_counts(action: ActionType, result: StepPreview) -> None:
    message = result.inputs.get("message")
    if action.action == "SEND_SMS" and message and not message.error:
        message.sms = sms_segments(message.text)
