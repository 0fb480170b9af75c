"""The editor's operations on a draft, as functions from one definition to the next.

Each returns a new definition and leaves its argument alone, so the caller can keep the
old one for undo. Steps are addressed by id; positions count from 0 in the top-level list.
"""

import copy
import random
import re
import string
from typing import Any

from flows_app import templating
from flows_app.actions.base import CHOICE, ActionType
from flows_app.definition import STEP_ID, action_of, steps_of


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
    params = {
        spec.name: spec.default
        for spec in action.inputs
        if spec.kind == CHOICE and spec.default is not None
    }
    return {
        "id": new_step_id(action, taken),
        "type": action.type,
        "action": action.action,
        "params": params,
    }


def step_ids(definition: dict) -> set[str]:
    return {str(step.get("id")) for step in steps_of(definition)}


def _index(definition: dict, step_id: str) -> int:
    for index, step in enumerate(steps_of(definition)):
        if step.get("id") == step_id:
            return index
    raise DraftError(f"There is no step {step_id!r} in this flow.")


def _copy(definition: dict) -> dict:
    result = copy.deepcopy(definition)
    result.setdefault("actions", [])
    return result


def insert_step(definition: dict, action: ActionType, position: int) -> tuple[dict, str]:
    """Add a new step of ``action`` at ``position``; return the definition and its id."""
    result = _copy(definition)
    step = new_step(action, step_ids(result))
    result["actions"].insert(_clamp(position, len(result["actions"])), step)
    return result, step["id"]


def move_step(definition: dict, step_id: str, position: int) -> dict:
    result = _copy(definition)
    step = result["actions"].pop(_index(result, step_id))
    result["actions"].insert(_clamp(position, len(result["actions"])), step)
    return result


def remove_step(definition: dict, step_id: str) -> dict:
    result = _copy(definition)
    del result["actions"][_index(result, step_id)]
    return result


def duplicate_step(definition: dict, step_id: str) -> tuple[dict, str]:
    """Copy a step right after itself, with a new id; return the definition and that id."""
    result = _copy(definition)
    index = _index(result, step_id)
    twin = copy.deepcopy(result["actions"][index])
    action = action_of(twin)
    taken = step_ids(result)
    twin["id"] = new_step_id(action, taken) if action else _numbered(step_id, taken)
    result["actions"].insert(index + 1, twin)
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

    A switch that is off is left out, as Auth0 writes it.
    """
    result = _copy(definition)
    step = result["actions"][_index(result, step_id)]
    step["params"] = params
    for key, value in {"alias": alias, **(switches or {})}.items():
        if value:
            step[key] = value
        else:
            step.pop(key, None)
    return result


def rename_step(definition: dict, old: str, new: str) -> tuple[dict, int]:
    """Give a step a new id and rewrite ``actions.<old>`` in every template that reads it.

    Returns the definition and how many references were rewritten.
    """
    if not STEP_ID.match(new):
        raise DraftError("An id starts with a letter or _, then letters, digits or _ (at most 64).")
    if new != old and new in step_ids(definition):
        raise DraftError(f"Another step already has the id {new!r}.")
    result = _copy(definition)
    result["actions"][_index(result, old)]["id"] = new
    rewritten = 0
    for step in result["actions"]:
        step["params"], count = _rewrite(step.get("params") or {}, old, new)
        rewritten += count
    return result, rewritten


def references_to(definition: dict, step_id: str) -> list[str]:
    """The ids of the steps whose templates read ``actions.<step_id>``."""
    return [
        str(step.get("id"))
        for step in steps_of(definition)
        if _rewrite(step.get("params") or {}, step_id, step_id)[1]
    ]


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
