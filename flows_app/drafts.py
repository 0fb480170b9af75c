"""The editor's operations on a draft, as functions from one definition to the next.

Each returns a new definition and leaves its argument alone, so the caller can keep the
old one for undo. Steps are addressed by id, anywhere in the tree. A place in the tree is
a list and an index in it: the top-level list (``parent=None``) or the ``branch``
("then"/"else") of the If/then step ``parent``; positions count from 0 in that list.
"""

import copy
import random
import re
import string
from typing import Any

from flows_app import conditions, pins, templating
from flows_app.actions.base import BRANCH, CHOICE, CONDITION, NUMBER, ActionType
from flows_app.definition import (
    BRANCHES,
    DEPTH_LIMIT,
    STEP_ID,
    Placed,
    action_of,
    all_steps,
    branches_of,
    find,
    inside,
    walk,
)

UP, DOWN = "up", "down"


class DraftError(ValueError):
    """An edit that cannot be made; the message says why, for the person editing."""


def new_step_id(action: ActionType, taken: set[str]) -> str:
    """Make an id the way Auth0 does (``update_user_PmSa``), unique in the flow."""
    while True:
        suffix = "".join(random.choices(string.ascii_letters, k=4))
        candidate = f"{action.action.lower()}_{suffix}"
        if candidate not in taken:
            return candidate


def new_step(action: ActionType, taken: set[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for spec in action.inputs:
        if spec.kind in (CHOICE, NUMBER) and spec.default is not None:
            params[spec.name] = spec.default
        elif spec.kind == CONDITION:
            params[spec.name] = conditions.empty_condition()
        elif spec.kind == BRANCH:
            params[spec.name] = []
    step: dict[str, Any] = {
        "id": new_step_id(action, taken),
        "type": action.type,
        "action": action.action,
        "params": params,
    }
    if action.extra.get("mask_output"):  # its output is a secret: hidden unless unmasked
        step["mask_output"] = True
    return step


def step_ids(definition: dict) -> set[str]:
    """The id of every step in the tree."""
    return {str(step.get("id")) for step in all_steps(definition)}


def _placed(definition: dict, step_id: str) -> Placed:
    placed = find(definition, step_id)
    if placed is None:
        raise DraftError(f"There is no step {step_id!r} in this flow.")
    return placed


def _copy(definition: dict) -> dict:
    result = copy.deepcopy(definition)
    if not isinstance(result.get("actions"), list):
        result["actions"] = []
    return result


def branch_of(step: Any, name: str | None) -> list | None:
    """A branch of an If/then step, [] when it lacks it; None for a step without branches."""
    action = action_of(step) if isinstance(step, dict) else None
    spec = action.input(name) if action and name in BRANCHES else None
    if spec is None or spec.kind != BRANCH:
        return None
    steps = (step.get("params") or {}).get(name)
    return steps if isinstance(steps, list) else []


def _steps_at(definition: dict, parent: str | None, branch: str | None) -> tuple[list, int]:
    """The list at a place, made if an If/then lacks it, and the depth of its steps."""
    if parent is None:
        return definition["actions"], 0
    placed = _placed(definition, parent)
    if branch_of(placed.step, branch) is None:
        raise DraftError(f"The step {parent!r} has no branch {branch!r}.")
    params = placed.step.setdefault("params", {})
    steps = params.setdefault(branch, [])
    if not isinstance(steps, list):
        raise DraftError(f"The {branch} branch of {parent!r} is not a list of steps.")
    return steps, placed.depth + 1


def _height(step: Any) -> int:
    """How many levels of branches a step holds: 0 for a plain step, 1 for a flat If/then."""
    levels = [1 + max((_height(s) for s in inner), default=0) for _, inner in branches_of(step)]
    return max(levels, default=0)


def _check_depth(step: dict, depth: int) -> None:
    if depth + _height(step) > DEPTH_LIMIT:
        raise DraftError(f"If/then nests at most {DEPTH_LIMIT} deep; this would go deeper.")


def _put(
    definition: dict, step: dict, position: int, parent: str | None, branch: str | None
) -> None:
    steps, depth = _steps_at(definition, parent, branch)
    _check_depth(step, depth)
    steps.insert(_clamp(position, len(steps)), step)


def insert_step(
    definition: dict,
    action: ActionType,
    position: int,
    parent: str | None = None,
    branch: str | None = None,
) -> tuple[dict, str]:
    """Add a new step of ``action`` at ``position`` of a list; return the definition and its id."""
    result = _copy(definition)
    step = new_step(action, step_ids(result))
    _put(result, step, position, parent, branch)
    return result, step["id"]


def move_step(
    definition: dict,
    step_id: str,
    position: int,
    parent: str | None = None,
    branch: str | None = None,
) -> dict:
    """Move a step, with its branches, to ``position`` of a list (counted without the step)."""
    result = _copy(definition)
    placed = _placed(result, step_id)
    if parent == step_id or parent in {s.get("id") for s in inside(placed.step)}:
        raise DraftError("An If/then step cannot move into its own branches.")
    del placed.steps[placed.index]
    _put(result, placed.step, position, parent, branch)
    return result


def shift_step(definition: dict, step_id: str, direction: str) -> dict:
    """Move a step one place ``up`` or ``down`` as a reader sees the tree.

    Within its list it swaps with its neighbour, but it goes into an If/then it meets
    (down: the top of Then; up: the end of Else), from Then's end to Else's top and back,
    and out past the If/then at the ends of a branch; at the ends of the flow it stays.
    """
    place = _shifted_place(definition, _placed(definition, step_id), direction)
    return move_step(definition, step_id, *place) if place else _copy(definition)


def _shifted_place(definition: dict, placed: Placed, direction: str) -> tuple | None:
    """Where ``shift_step`` puts a step, as (position, parent, branch) after taking it out."""
    index, steps = placed.index, placed.steps
    offset = -1 if direction == UP else 1
    if 0 <= index + offset < len(steps):
        neighbour = steps[index + offset]
        if direction == UP and (inner := branch_of(neighbour, "else")) is not None:
            return len(inner), neighbour["id"], "else"
        if direction == DOWN and branch_of(neighbour, "then") is not None:
            return 0, neighbour["id"], "then"
        return index + offset, placed.parent, placed.branch
    if placed.parent is None:
        return None
    outer = _placed(definition, placed.parent)
    if direction == UP and placed.branch == "else":
        return len(branch_of(outer.step, "then") or []), placed.parent, "then"
    if direction == DOWN and placed.branch == "then":
        return 0, placed.parent, "else"
    return outer.index + (direction == DOWN), outer.parent, outer.branch


def can_shift(placed: Placed, direction: str) -> bool:
    """Whether ``shift_step`` would move the step: only the flow's first and last stay."""
    if placed.parent is not None:
        return True
    return placed.index > 0 if direction == UP else placed.index < len(placed.steps) - 1


def remove_step(definition: dict, step_id: str) -> dict:
    """Remove a step; an If/then goes with every step in its branches."""
    result = _copy(definition)
    placed = _placed(result, step_id)
    del placed.steps[placed.index]
    return result


def duplicate_step(definition: dict, step_id: str) -> tuple[dict, str]:
    """Copy a step right after itself, with a new id; return the definition and that id.

    The steps in a copied If/then get new ids too, and the copy's templates read the
    copied steps, not the originals.
    """
    result = _copy(definition)
    placed = _placed(result, step_id)
    twin = copy.deepcopy(placed.step)
    taken = step_ids(result)
    renamed = {}
    for step in [twin, *inside(twin)]:
        old = str(step.get("id"))
        action = action_of(step)
        step["id"] = new_step_id(action, taken) if action else _numbered(old, taken)
        taken.add(step["id"])
        renamed[old] = step["id"]
    copied = {"actions": [twin]}
    for old, new in renamed.items():
        _rewrite_steps(copied, old, new)
    placed.steps.insert(placed.index + 1, twin)
    return result, twin["id"]


def update_step(
    definition: dict,
    step_id: str,
    *,
    alias: str | None,
    params: dict[str, Any],
    switches: dict[str, bool] | None = None,
) -> dict:
    """Set a step's params, display name and switches (``allow_failure``, ``mask_output``).

    A switch that is off is left out, as Auth0 writes it. Branches the new params lack
    (the inspector never sends them) are kept from the step as it was.
    """
    result = _copy(definition)
    step = _placed(result, step_id).step
    params = dict(params)
    for name, steps in branches_of(step):
        params.setdefault(name, steps)
    step["params"] = params
    for key, value in {"alias": alias, **(switches or {})}.items():
        if value:
            step[key] = value
        else:
            step.pop(key, None)
    return result


def rename_step(definition: dict, old: str, new: str) -> tuple[dict, int]:
    """Give a step a new id and rewrite ``actions.<old>`` in every template that reads it;
    its pinned output, if it has one, moves with it.

    Returns the definition and how many references were rewritten.
    """
    if not STEP_ID.match(new):
        raise DraftError("An id starts with a letter or _, then letters, digits or _ (at most 64).")
    if new != old and new in step_ids(definition):
        raise DraftError(f"Another step already has the id {new!r}.")
    result = _copy(definition)
    _placed(result, old).step["id"] = new
    return pins.renamed_pin(result, old, new), _rewrite_steps(result, old, new)


def references_to(definition: dict, step_id: str) -> list[str]:
    """The ids of the steps whose templates read ``actions.<step_id>``."""
    return [
        str(step.get("id"))
        for step in all_steps(definition)
        if any(_rewrite(value, step_id, step_id)[1] for value in _own_params(step).values())
    ]


def _own_params(step: dict) -> dict[str, Any]:
    """A step's params but its branches, which hold other steps."""
    params = step.get("params")
    if not isinstance(params, dict):
        return {}
    nested = {name for name, _ in branches_of(step)}
    return {name: value for name, value in params.items() if name not in nested}


def _rewrite_steps(definition: dict, old: str, new: str) -> int:
    """Rewrite ``actions.<old>`` in the params of every step of the tree, in place."""
    total = 0
    for placed in walk(definition):
        if not isinstance(placed.step, dict):
            continue
        for name, value in _own_params(placed.step).items():
            placed.step["params"][name], count = _rewrite(value, old, new)
            total += count
    return total


def _rewrite(value: Any, old: str, new: str) -> tuple[Any, int]:
    if isinstance(value, str):
        return _rewrite_template(value, old, new)
    if isinstance(value, dict):
        total, result = 0, {}
        for key, item in value.items():
            result[key], count = _rewrite(item, old, new)
            total += count
        return result, total
    if isinstance(value, list):
        pairs = [_rewrite(item, old, new) for item in value]
        return [item for item, _ in pairs], sum(count for _, count in pairs)
    return value, 0


def _rewrite_template(source: str, old: str, new: str) -> tuple[str, int]:
    """Rewrite the variables that start ``actions.<old>``, where the parser found them."""
    if "actions" not in source or old not in source:
        return source, 0
    starts = [
        index
        for index, segments in templating.variable_locations(source)
        if segments[:2] == ["actions", old]
    ]
    for index in sorted(starts, reverse=True):
        match = re.compile(
            rf"actions(\s*\.\s*{re.escape(old)}|\[\s*(['\"]){re.escape(old)}\2\s*\])"
        ).match(source, index)
        if match:
            source = f"{source[:index]}actions.{new}{source[match.end() :]}"
    return source, len(starts)


def _clamp(position: int, length: int) -> int:
    return max(0, min(position, length))


def _numbered(step_id: str, taken: set[str]) -> str:
    number = 2
    while f"{step_id}_{number}" in taken:
        number += 1
    return f"{step_id}_{number}"
