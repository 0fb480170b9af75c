"""The flow document: Auth0's flow JSON plus a schema version, and its validation.

A definition is ``{"schema_version": 1, "actions": [step, …]}``; each step is an Auth0 flow
action ``{"id", "alias"?, "type", "action", "allow_failure"?, "mask_output"?, "params"}``.
An If/then step holds two more lists of steps, ``params.then`` and ``params.else``, nested
to any depth; ``walk`` visits every step of the tree in the order a reader meets them, and
step ids are unique across the whole tree.
Sluice keeps its own extras at the top level, never inside a step, because Auth0 rejects
unknown keys in actions and their params. Validation runs on save and on publish and
names the step and the input of every problem.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flows_app import conditions, templating
from flows_app.actions import ACTION_TYPES
from flows_app.actions.base import (
    BOOL,
    BRANCH,
    CHOICE,
    CONDITION,
    CONNECTION,
    HTML_TEMPLATE,
    JSON_TEMPLATE,
    KEY_VALUE,
    NUMBER,
    OPTIONS,
    SENDER,
    TEMPLATE,
    TEMPLATE_OR_NUMBER,
    TEXT,
    TEXT_LIST,
    XML_TEMPLATE,
    ActionType,
    Input,
)
from flows_app.json_limits import JSON_DEPTH_LIMIT, depth_exceeds

SCHEMA_VERSION = 1
STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
STEP_KEYS = {"id", "alias", "type", "action", "allow_failure", "mask_output", "params"}
ALIAS_LIMIT = 100
BRANCHES = ("then", "else")
DEPTH_LIMIT = 20  # If/then inside If/then


@dataclass(frozen=True)
class Problem:
    message: str
    step_id: str | None = None
    input: str | None = None
    provider: str | None = None  # "email"/"phone": fixed by choosing that provider in the vault

    def __str__(self) -> str:
        where = " · ".join(part for part in (self.step_id, self.input) if part)
        return f"{where}: {self.message}" if where else self.message


def new_definition() -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "actions": []}


def steps_of(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    actions = definition.get("actions") or []
    return actions if isinstance(actions, list) else []


def action_of(step: Mapping[str, Any]) -> ActionType | None:
    return ACTION_TYPES.get(f"{step.get('type')}/{step.get('action')}")


@dataclass(frozen=True)
class Placed:
    """A step where it sits: ``steps[index]`` of the ``branch`` of step ``parent``."""

    step: dict[str, Any]
    steps: list
    index: int
    depth: int = 0
    parent: str | None = None
    branch: str | None = None


def branches_of(step: Any) -> list[tuple[str, list]]:
    """An If/then step's branches that are lists, as (name, steps); [] for other steps."""
    if not isinstance(step, dict) or step.get("type") != "FLOW":
        return []
    if step.get("action") != "BOOLEAN_CONDITION":
        return []
    params = step.get("params")
    if not isinstance(params, dict):
        return []
    return [(name, params[name]) for name in BRANCHES if isinstance(params.get(name), list)]


def walk(definition: Mapping[str, Any]) -> Iterator[Placed]:
    """Every step of the tree, each If/then followed by its then-steps, then its else-steps."""
    yield from _walk(steps_of(definition), 0, None, None)


def _walk(steps: list, depth: int, parent: str | None, branch: str | None) -> Iterator[Placed]:
    for index, step in enumerate(steps):
        yield Placed(step, steps, index, depth, parent, branch)
        if depth < DEPTH_LIMIT:
            for name, inner in branches_of(step):
                yield from _walk(inner, depth + 1, str(step.get("id")), name)


def all_steps(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [placed.step for placed in walk(definition) if isinstance(placed.step, dict)]


def find(definition: Mapping[str, Any], step_id: str) -> Placed | None:
    return next(
        (p for p in walk(definition) if isinstance(p.step, dict) and p.step.get("id") == step_id),
        None,
    )


def inside(step: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The steps nested in a step's branches, at any depth."""
    return all_steps({"actions": [step]})[1:]


def unsupported_message(step: Mapping[str, Any]) -> str:
    """What validation says of a step whose action Sluice does not support: it is kept as
    it came (an import never drops one) and blocks running and publishing."""
    return (
        f"Sluice does not support {step.get('type')}/{step.get('action')} yet: the step is kept "
        "as it came, and the flow cannot run or be published until it is replaced or removed."
    )


def connection_kind(step: Any) -> str | None:
    """The vault connection kind that a supported step's ``params.connection_id`` names;
    None for a step without one, and for a step Sluice does not support (kept as it came)."""
    action = action_of(step) if isinstance(step, Mapping) else None
    spec = action.input("connection_id") if action else None
    params = step.get("params") if spec else None
    if not isinstance(params, dict) or "connection_id" not in params:
        return None
    return spec.connection_kind if spec else None


def connection_ids(definition: Mapping[str, Any]) -> set[int]:
    """The vault connections a definition refers to."""
    found = set()
    for step in all_steps(definition):
        value = (step.get("params") or {}).get("connection_id") if isinstance(step, dict) else None
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            found.add(int(value))
    return found


def provider_problems(definition: Any, unusable: Mapping[str, str]) -> list[Problem]:
    """A problem on every step whose action sends through a vault provider that ``unusable``
    (role → why) says cannot be used, so the step would fail at run time."""
    problems: list[Problem] = []
    if not isinstance(definition, dict):
        return problems
    for position, placed in enumerate(walk(definition), start=1):
        action = action_of(placed.step) if isinstance(placed.step, dict) else None
        purpose = action.provider if action else None
        if purpose is not None and purpose in unusable:
            label = _label(placed.step, position)
            problems.append(Problem(unusable[purpose], label, provider=purpose))
    return problems


def validate(
    definition: Any, *, connection_kinds: Mapping[int, str] | None = None
) -> list[Problem]:
    """Return every problem of a definition; ``connection_kinds`` maps vault ids to kinds."""
    if not isinstance(definition, dict):
        return [Problem("A flow definition is a JSON object with an actions list.")]
    version = definition.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        return [Problem(f"Schema version {version!r} is not one Sluice knows ({SCHEMA_VERSION}).")]
    actions = definition.get("actions", [])
    if not isinstance(actions, list):
        return [Problem("actions must be a list of steps.")]
    too_deep = nesting_problems(definition)
    if too_deep:  # the checks below recurse into what nests
        return too_deep
    checker = _Checker(connection_kinds)
    checker.check_list(actions, 0)
    return checker.problems


def nesting_problems(definition: Mapping[str, Any]) -> list[Problem]:
    """If/then nested more than DEPTH_LIMIT deep, and step inputs whose JSON nests more than
    JSON_DEPTH_LIMIT deep. Found without recursion, so it is safe on any document: imports
    run it before copying one, and validation before its other checks."""
    problems: list[Problem] = []
    position = 0
    pending: list[tuple[Iterator[Any], int]] = [(iter(steps_of(definition)), 0)]
    while pending:
        steps, depth = pending[-1]
        step = next(steps, _END)
        if step is _END:
            pending.pop()
            continue
        position += 1
        label = _label(step, position)
        problems += [Problem(message, label, name) for name, message in _deep_values(step)]
        branches = branches_of(step)
        if branches and depth >= DEPTH_LIMIT:
            problems.append(Problem(f"If/then nests at most {DEPTH_LIMIT} deep.", label))
            continue
        pending += [(iter(inner), depth + 1) for _, inner in reversed(branches)]
    return problems


_END = object()


def _deep_values(step: Any) -> Iterator[tuple[str | None, str]]:
    """(input, message) for each value of a step, branches aside, that nests too deep."""
    deep = f"Nests objects and lists more than {JSON_DEPTH_LIMIT} deep."
    if not isinstance(step, dict):
        yield from [(None, deep)] if depth_exceeds(step) else []
        return
    params = step.get("params")
    for key, value in step.items():
        if (key != "params" or not isinstance(params, dict)) and depth_exceeds(value):
            yield str(key), deep
    if not isinstance(params, dict):
        return
    branches = {name for name, _ in branches_of(step)}
    action = action_of(step)
    for name, value in params.items():
        if name in branches or not depth_exceeds(value):
            continue
        spec = action.input(name) if action else None
        if spec and spec.kind == CONDITION:
            yield spec.label, f"Groups nest at most {conditions.DEPTH_LIMIT} deep."
        else:
            yield (spec.label if spec else str(name)), deep


class _Checker:
    """Walks the tree: ``visible`` holds the ids of the steps that surely ran before the
    step at hand (those of a branch count only inside it, and after the If/then); ``seen``
    every id so far. One set is kept and a branch's ids are taken out again after it, so
    the walk stays linear however many If/then a flow has."""

    def __init__(self, connection_kinds: Mapping[int, str] | None):
        self.connection_kinds = connection_kinds
        self.problems: list[Problem] = []
        self.seen: set[str] = set()
        self.visible: set[str] = set()
        self.position = 0

    def check_list(self, steps: list, depth: int) -> list[str]:
        """Check steps in order; return the ids it made visible to the steps after it."""
        added: list[str] = []
        for step in steps:
            self.position += 1
            self.problems += _step_problems(
                step, self.position, self.visible, self.connection_kinds
            )
            label = _label(step, self.position)
            if isinstance(step, dict) and isinstance(step.get("id"), str):
                if step["id"] in self.seen and step["id"] not in self.visible:
                    self.problems.append(Problem(_taken(step["id"]), label))
                self.seen.add(step["id"])
                added += self._show([step["id"]])
            branches = branches_of(step)
            if branches and depth >= DEPTH_LIMIT:
                self.problems.append(Problem(f"If/then nests at most {DEPTH_LIMIT} deep.", label))
                continue
            from_branches: list[str] = []
            for _, inner in branches:  # each branch sees the steps before it, not the other one
                shown = self.check_list(inner, depth + 1)
                self.visible.difference_update(shown)
                from_branches += shown
            added += self._show(from_branches)
        return added

    def _show(self, ids: list[str]) -> list[str]:
        """Make ids visible; return those that were not already."""
        new = [i for i in dict.fromkeys(ids) if i not in self.visible]
        self.visible.update(new)
        return new


def _label(step: Any, position: int) -> str:
    step_id = step.get("id") if isinstance(step, dict) else None
    return step_id if isinstance(step_id, str) and step_id else f"step {position}"


def _taken(step_id: str) -> str:
    return f"Another step already has the id {step_id!r}."


def _step_problems(step, position, earlier, connection_kinds) -> list[Problem]:
    if not isinstance(step, dict):
        return [Problem(f"Step {position} is not a JSON object.")]
    label = _label(step, position)
    problems = [Problem(message, label) for message in _header_problems(step, earlier)]
    action = action_of(step)
    if action is None:
        problems.append(Problem(unsupported_message(step), label))
        return problems
    params = step.get("params", {})
    if not isinstance(params, dict):
        return [*problems, Problem("params must be a JSON object.", label)]
    for name in params:
        if action.input(name) is None:
            problems.append(Problem(f"{action.label} has no input {name!r}.", label))
    for spec in action.inputs:
        if spec.kind == BRANCH:
            if params.get(spec.name) is not None and not isinstance(params[spec.name], list):
                problems.append(Problem("Must be a list of steps.", label, spec.label))
            continue
        for message in _input_problems(spec, params.get(spec.name), earlier, connection_kinds):
            problems.append(Problem(message, label, spec.label))
    check = action.extra.get("check")  # an action's own rules: yields (input name, message)
    for name, message in check(params) if check else ():
        named = action.input(name)
        problems.append(Problem(message, label, named.label if named else name))
    return problems


def _header_problems(step: dict, earlier: set[str]) -> Iterator[str]:
    step_id = step.get("id")
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        yield (
            "The step id must start with a letter or _, then letters, digits or _, "
            "at most 64 characters."
        )
    elif step_id in earlier:
        yield _taken(step_id)
    alias = step.get("alias")
    if alias is not None and (not isinstance(alias, str) or len(alias) > ALIAS_LIMIT):
        yield f"The display name must be text of at most {ALIAS_LIMIT} characters."
    for switch in ("allow_failure", "mask_output"):
        if switch in step and not isinstance(step[switch], bool):
            yield f"{switch} must be true or false."
    for key in sorted(set(step) - STEP_KEYS):
        yield f"Unknown key {key!r} in the step (Auth0 would reject it)."


def _input_problems(spec: Input, value, earlier, connection_kinds) -> Iterator[str]:
    if value in (None, "", {}, []):
        if spec.required:
            yield "Required."
        return
    checker = _CHECKS.get(spec.kind)
    if checker:
        yield from checker(spec, value, connection_kinds)
    if spec.max_length and isinstance(value, str) and len(value) > spec.max_length:
        yield f"At most {spec.max_length} characters ({len(value)} now)."
    templates = conditions.operand_templates(value) if spec.kind == CONDITION else _strings(value)
    for template in templates if spec.kind in _TEMPLATED else ():
        yield from _template_problems(template, earlier, _roots(spec))


def _check_connection(spec: Input, value, connection_kinds) -> Iterator[str]:
    try:
        connection_id = int(value)
    except (TypeError, ValueError):
        yield "Choose a connection from the vault."
        return
    if connection_kinds is not None and connection_kinds.get(connection_id) != spec.connection_kind:
        yield f"The {spec.connection_kind} connection {value} does not exist in the vault."


def _check_choice(spec: Input, value, connection_kinds) -> Iterator[str]:
    if value not in spec.choices:
        yield f"Choose one of {', '.join(spec.choices)}."


def _check_bool(spec: Input, value, connection_kinds) -> Iterator[str]:
    if not isinstance(value, bool):
        yield "Must be true or false."


def _check_text(spec: Input, value, connection_kinds) -> Iterator[str]:
    if not isinstance(value, str):
        yield "Must be text."


def _check_number(spec: Input, value, connection_kinds) -> Iterator[str]:
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not (whole or (isinstance(value, str) and value.strip().isdigit())):
        yield "Must be a whole number."


def _check_key_value(spec: Input, value, connection_kinds) -> Iterator[str]:
    if not isinstance(value, dict):
        yield "Must be an object of names and values."
        return
    for key, item in value.items():
        if not key.strip():
            yield "A name is empty."
        if isinstance(item, dict | list):
            yield f"{key}: a value must be text, a number, true/false or null."


def _check_template_or_number(spec: Input, value, connection_kinds) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, str | int):
        yield "Must be text or a whole number."


def _check_options(spec: Input, value, connection_kinds) -> Iterator[str]:
    if not isinstance(value, dict):
        yield "Must be an object."
        return
    for key, item in value.items():
        part = next((p for p in spec.parts if p.name == key), None)
        if part is None:
            yield f"Unknown setting {key!r}."
        elif part.kind == BOOL and not isinstance(item, bool):
            yield f"{part.label}: must be true or false."
        elif part.kind == TEXT_LIST and not (
            isinstance(item, list) and all(isinstance(i, str) for i in item)
        ):
            yield f"{part.label}: must be a list of text."


def _check_condition(spec: Input, value, connection_kinds) -> Iterator[str]:
    problems = list(conditions.shape_problems(value))
    yield from problems
    if not problems and conditions.count_leaves(value) > conditions.SIZE_LIMIT:
        yield f"At most {conditions.SIZE_LIMIT} conditions."


def _check_sender(spec: Input, value, connection_kinds) -> Iterator[str]:
    if not isinstance(value, dict) or not str(value.get("email") or "").strip():
        yield "A custom sender needs an email address."
    elif set(value) - {"email", "name"}:
        yield "A custom sender has only an email and a name."


_CHECKS = {
    CONNECTION: _check_connection,
    CHOICE: _check_choice,
    BOOL: _check_bool,
    TEXT: _check_text,
    TEMPLATE: _check_text,
    HTML_TEMPLATE: _check_text,
    KEY_VALUE: _check_key_value,
    SENDER: _check_sender,
    CONDITION: _check_condition,
    NUMBER: _check_number,
    TEMPLATE_OR_NUMBER: _check_template_or_number,
    XML_TEMPLATE: _check_text,
    OPTIONS: _check_options,
}
_TEMPLATED = {
    TEMPLATE,
    HTML_TEMPLATE,
    JSON_TEMPLATE,
    KEY_VALUE,
    SENDER,
    CONDITION,
    TEMPLATE_OR_NUMBER,
    XML_TEMPLATE,
}


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


NAMESPACES = ("context", "fields", "vars", "actions")
LIQUID_NAMES = {"forloop", "tablerowloop", "empty", "blank"}


def _roots(spec: Input) -> set[str]:
    """The variables a template in this input may start from."""
    return {*NAMESPACES, *LIQUID_NAMES, *(["custom_vars"] if spec.uses_custom_vars else [])}


def _template_problems(source: str, earlier: set[str], roots: set[str]) -> Iterator[str]:
    if "{" not in source:
        return
    for problem in templating.check_template(source):
        where = f" (line {problem.line}, column {problem.column})" if problem.line else ""
        yield f"{problem.message}{where}"
    for path in sorted(templating.referenced_variables(source)):
        parts = path.split(".")
        if parts[0] not in roots:
            allowed = ", ".join(sorted(roots - LIQUID_NAMES))
            yield f"{path} is undefined: variables start with {allowed}."
        elif parts[0] == "actions" and len(parts) > 1 and parts[1] not in earlier:
            yield f"{path} refers to a step that does not run before this one."
