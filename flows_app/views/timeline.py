"""The path a run took, step by step, for the run page and the editor's test-run panel.

``timeline(run)`` follows the run's definition as a tree: an If/then entry holds its
Then and Else branches, each with its own entries, and says which branch was taken and
why (every check with its operand values). Values come from the step records only: a
masked step's record already holds ``MASK`` instead of them, and nothing here undoes that.
"""

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timesince import timeuntil

from flows_app import conditions
from flows_app.actions import ACTION_TYPES
from flows_app.actions.base import BRANCH, CONDITION, CONNECTION
from flows_app.definition import BRANCHES, action_of, branches_of, steps_of
from flows_app.engine import may_fail
from flows_app.models import Run, StepRun
from flows_app.redaction import MASK
from vault_app.models import Connection

DELAY = "FLOW/DELAY_FLOW"
IF_THEN = "FLOW/BOOLEAN_CONDITION"
SYMBOLS = {"EQUALS": "=", "NOT_EQUALS": "≠", "GREATER_THAN": ">", "LESS_THAN": "<"}
LONE_EXPRESSION = re.compile(r"^\{\{-?\s*(.*?)\s*-?\}\}$", re.S)
VALUE_LIMIT = 120  # characters of an operand value shown in a check


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def duration_text(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    if milliseconds < 60_000:
        return f"{milliseconds / 1000:.1f} s"
    minutes, seconds = divmod(round(milliseconds / 1000), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# What the page shows of an If/then's checks and of a Delay.


@dataclass
class Check:
    """One leaf condition: what it compares (``text``), the values it met, its outcome."""

    text: str
    values: str
    result: bool | None
    is_group = False


@dataclass
class Group:
    label: str  # "all of" / "any of"
    items: list["Check | Group"]
    result: bool | None
    is_group = True


@dataclass
class Condition:
    branch: str  # "Then", "Else", or "" before the condition is evaluated
    label: str  # the outer group's "all of" / "any of"; "" for a lone check
    items: list[Check | Group]


@dataclass
class Delay:
    span: str  # "5 minutes"
    until: datetime | None
    state: str  # the record's status: waiting, succeeded, cancelled…

    @property
    def remaining(self) -> str:
        return time_left(self.until)


def time_left(until: datetime | None) -> str:
    """How long until ``until``, as "19 hours, 59 minutes", or "8 seconds" in its last
    minute (where Django's timeuntil says "0 minutes"); "" once it has passed."""
    if until is None:
        return ""
    seconds = math.ceil((until - timezone.now()).total_seconds())
    if seconds <= 0:
        return ""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return timeuntil(until)


@dataclass
class Variable:
    name: str
    value: str
    change: str  # "new", "changed" or ""


@dataclass
class Branch:
    name: str  # "then" / "else"
    label: str
    state: str  # "taken", "skipped", "not-run" or "" (not decided yet)
    entries: list["TimelineStep"]

    @property
    def state_text(self) -> str:
        return {"taken": "taken", "skipped": "not taken", "not-run": "not run"}.get(self.state, "")


@dataclass
class TimelineStep:
    step_id: str
    name: str
    action: str
    record: StepRun | None
    allow_failure: bool = False
    status: str = "pending"  # a CSS suffix: a record's status, or pending / skipped / not-run
    status_text: str = ""
    branches: list[Branch] = field(default_factory=list)
    condition: Condition | None = None
    delay: Delay | None = None

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"


@dataclass(frozen=True)
class ConnectionRef:
    """The vault connection a step used, by name; ``pk`` is None once it is deleted."""

    name: str
    pk: int | None


def timeline(run: Run) -> list[TimelineStep]:
    """Every step of the run's definition, nested as in the definition, with its record."""
    records = {record.step_id: record for record in run.steps.all()}
    _decorate_variables(run, sorted(records.values(), key=lambda r: r.position))
    _decorate_connections(list(records.values()))
    builder = _Builder(run, records)
    entries = builder.entries(steps_of(run.definition), "")
    for record in sorted(builder.records.values(), key=lambda r: r.position):
        entry = TimelineStep(record.step_id, record.step_id, record.action_type, record)
        entries.append(builder.finish(entry, {}, ""))
    return entries


def flatten(entries: list[TimelineStep]) -> list[TimelineStep]:
    """Every entry of a timeline, nested ones included, in the order the page shows them."""
    found = []
    for entry in entries:
        found.append(entry)
        for branch in entry.branches:
            found += flatten(branch.entries)
    return found


class _Builder:
    def __init__(self, run: Run, records: dict[str, StepRun]):
        self.run = run
        self.records = dict(records)
        self.position = 0

    def entries(self, steps: list, inherited: str) -> list[TimelineStep]:
        """Entries for a list of steps; ``inherited`` is the state of the branch they are in."""
        return [self.entry(step, inherited) for step in steps if isinstance(step, dict)]

    def entry(self, step: dict[str, Any], inherited: str) -> TimelineStep:
        self.position += 1
        step_id = str(step.get("id") or f"step_{self.position}")
        action = action_of(step)
        label = action.label if action else f"{step.get('type')}/{step.get('action')}"
        record = self.records.pop(step_id, None)
        entry = TimelineStep(step_id, step.get("alias") or label, label, record, may_fail(step))
        return self.finish(entry, step, inherited)

    def finish(self, entry: TimelineStep, step: dict[str, Any], inherited: str) -> TimelineStep:
        record = entry.record
        entry.status, entry.status_text = self.status(record, entry.allow_failure, inherited)
        if record:
            _decorate_step(record, entry.allow_failure)
        if branches_of(step):
            taken = _branch_taken(record)
            entry.condition = _condition(step, record, taken)
            for name, inner in branches_of(step):
                state = _branch_state(entry.status, taken, name, inherited)
                entry.branches.append(Branch(name, name.title(), state, self.entries(inner, state)))
        if record and record.action_type == DELAY:
            entry.delay = _delay(record)
        return entry

    def status(self, record: StepRun | None, allow_failure: bool, inherited: str):
        if record is None:
            if inherited == "skipped":
                return "skipped", StepRun.Status.SKIPPED.label
            if self.run.is_final or inherited == "not-run":
                return "not-run", "Not run"
            return "pending", "Pending"
        if allow_failure and record.status == StepRun.Status.FAILED:
            return "failed-allowed", "Failed (allowed)"
        return record.status, record.get_status_display()


def _branch_taken(record: StepRun | None) -> str | None:
    if record is None or record.status == StepRun.Status.SKIPPED:
        return None
    detail = record.detail if isinstance(record.detail, dict) else {}
    if detail.get("branch") in BRANCHES:
        return detail["branch"]
    output = record.output if isinstance(record.output, dict) else {}
    if isinstance(output.get("result"), bool):
        return "then" if output["result"] else "else"
    return None


def _branch_state(status: str, taken: str | None, name: str, inherited: str) -> str:
    if inherited in ("skipped", "not-run"):
        return inherited
    if status == "skipped":
        return "skipped"
    if taken:
        return "taken" if taken == name else "skipped"
    if status in ("failed", "failed-allowed", "cancelled", "not-run"):
        return "not-run"
    return ""


def _condition(step: dict[str, Any], record: StepRun | None, taken: str | None) -> Condition:
    detail = record.detail if record and isinstance(record.detail, dict) else {}
    checks = detail.get("checks")
    branch = taken.title() if taken else ""
    if not isinstance(checks, list):
        return Condition(branch, "", [])
    source = (step.get("params") or {}).get("if")
    tree = _check_tree(source, [check for check in checks if isinstance(check, dict)])
    if isinstance(tree, Group):
        return Condition(branch, tree.label or "every check", tree.items)
    return Condition(branch, "", [tree])


def _check_tree(source: Any, checks: list[dict[str, Any]]) -> Check | Group:
    """The definition's condition with each leaf's recorded check; the checks alone, in a
    flat "all of", when the definition's shape does not match them."""
    fits = not list(conditions.shape_problems(source))
    if fits and conditions.count_leaves(source) == len(checks):
        return _node(source, iter(checks))
    return Group("", [_check(None, check) for check in checks], None)


def _node(source: dict[str, Any], checks) -> Check | Group:
    if conditions.is_group(source):
        items = [_node(child, checks) for child in source.get("operands") or []]
        results = [item.result for item in items]
        known = None if None in results else (all if source["operator"] == "AND" else any)
        label = conditions.LABELS[source["operator"]]
        return Group(label, items, known(results) if known else None)
    return _check(source, next(checks))


def _check(source: dict[str, Any] | None, check: dict[str, Any]) -> Check:
    operator = str(check.get("operator") or (source or {}).get("operator"))
    label = conditions.LABELS.get(operator, operator)
    defined = _list(check.get("defined"))
    values = [
        _value(value, defined[n] if n < len(defined) else True)
        for n, value in enumerate(_list(check.get("operands")))
    ]
    result = check.get("result") if isinstance(check.get("result"), bool) else None
    if source is None:
        return Check(" ".join([values[0], label, *values[1:]]) if values else label, "", result)
    sources = [_source(operand) for operand in source.get("operands") or []]
    text = " ".join([sources[0], label, *sources[1:]]) if sources else label
    if operator in conditions.UNARY or len(values) < 2:
        return Check(text, " ".join(values), result)
    return Check(text, f"{values[0]} {SYMBOLS.get(operator, label)} {values[1]}", result)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _source(operand: Any) -> str:
    """How an operand reads in the definition: a lone ``{{ path }}`` as the path."""
    if isinstance(operand, str):
        lone = LONE_EXPRESSION.match(operand.strip())
        if lone and "{{" not in lone.group(1):
            return lone.group(1)
    return compact_json(operand)


def _value(value: Any, defined: Any) -> str:
    if defined is False:
        return "undefined"
    if value == MASK:
        return MASK
    text = compact_json(value)
    return text if len(text) <= VALUE_LIMIT else f"{text[: VALUE_LIMIT - 1]}…"


def _delay(record: StepRun) -> Delay:
    detail = record.detail if isinstance(record.detail, dict) else {}
    seconds = detail.get("seconds")
    until = parse_datetime(detail["until"]) if isinstance(detail.get("until"), str) else None
    return Delay(_span(seconds) if isinstance(seconds, int) else "", until, record.status)


def _span(seconds: int) -> str:
    """A delay's length in the largest unit that says it exactly: "5 minutes", "90 seconds"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


# What every record carries for the templates.


def _decorate_step(record: StepRun, allow_failure: bool = False) -> None:
    hidden = _shown_elsewhere(record.action_type)
    attached: dict[str, Any] = {
        "failure_allowed": allow_failure and record.status == StepRun.Status.FAILED,
        "output_masked": record.output == MASK,
        "duration_text": duration_text(record.duration_ms),
        "inputs_list": [
            (name, _input_text(value))
            for name, value in record.inputs.items()
            if name not in hidden
        ]
        if isinstance(record.inputs, dict)
        else [],
        "output_json": pretty_json(record.output) if record.output is not None else "",
        "error_body_json": pretty_json(record.error_body) if record.error_body else "",
    }
    attached["output_short"] = attached["output_json"].count("\n") < 16
    for name, value in attached.items():
        setattr(record, name, value)


def _shown_elsewhere(action_type: str) -> set[str]:
    """Inputs not listed as inputs: an If/then's condition and branches, which the page
    shows as its checks and its nested steps, and a connection, shown by its name."""
    return _inputs_of_kind(action_type, CONDITION, BRANCH, CONNECTION)


def _inputs_of_kind(action_type: str, *kinds: str) -> set[str]:
    action = ACTION_TYPES.get(action_type)
    inputs = action.inputs if action else ()
    return {spec.name for spec in inputs if spec.kind in kinds}


def _decorate_connections(records: list[StepRun]) -> None:
    """Attach ``connection``, the vault connection a step used, by name (one query)."""
    used = {record.pk: _connection_id(record) for record in records}
    ids = {pk for pk in used.values() if pk is not None}
    names = dict(Connection.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    for record in records:
        pk = used[record.pk]
        found = names.get(pk) if pk is not None else None
        record.connection = (  # type: ignore[attr-defined]
            None
            if pk is None
            else ConnectionRef(found, pk)
            if found
            else ConnectionRef(f"#{pk}, no longer in the vault", None)
        )


def _connection_id(record: StepRun) -> int | None:
    inputs = record.inputs if isinstance(record.inputs, dict) else {}
    for name in sorted(_inputs_of_kind(record.action_type, CONNECTION)):
        try:
            return int(inputs.get(name))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return None


def _input_text(value: Any) -> str:
    return value if isinstance(value, str) else pretty_json(value)


def _decorate_variables(run: Run, records: list[StepRun]) -> None:
    """Attach ``variables`` to each record that set shared variables: all of them as they
    stood after the step, each marked new or changed against the step before."""
    before = run.input.get("vars") if isinstance(run.input, dict) else None
    before = before if isinstance(before, dict) else {}
    for record in records:
        record.variables = []  # type: ignore[attr-defined]
        if not isinstance(record.vars, dict):
            continue
        record.variables = [  # type: ignore[attr-defined]
            Variable(name, compact_json(value), _change(before, name, value))
            for name, value in sorted(record.vars.items())
        ]
        before = record.vars


def _change(before: dict[str, Any], name: str, value: Any) -> str:
    if name not in before:
        return "new"
    return "changed" if before[name] != value else ""


def masked_condition_inputs(record: StepRun) -> Any:
    """A record's inputs for the API, with a masked If/then's rendered operands masked too:
    they are the values its checks hide."""
    inputs = record.inputs
    masked = record.action_type == IF_THEN and record.output == MASK
    if not masked or not isinstance(inputs, dict) or "if" not in inputs:
        return inputs
    return {**inputs, "if": _mask_operands(inputs["if"])}


def _mask_operands(node: Any) -> Any:
    if not isinstance(node, dict):
        return MASK
    operands = _list(node.get("operands"))
    if conditions.is_group(node):
        return {**node, "operands": [_mask_operands(child) for child in operands]}
    return {**node, "operands": [MASK for _ in operands]}
