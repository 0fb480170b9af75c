"""The inspector's variable picker: what a step's templates can read."""

from dataclasses import dataclass
from typing import Any

from flows_app import preview as previews
from flows_app.liquid_functions import FUNCTIONS
from flows_app.models import Flow

TEST_DATA_KEYS = ("context", "fields", "vars")
PATH_DEPTH = 3
FUNCTION_CALLS = [f"functions.{name}()" for name in sorted(FUNCTIONS)]


@dataclass(frozen=True)
class Variable:
    """A path the picker inserts; ``note`` says when it may be undefined."""

    path: str
    note: str = ""


def _paths(value: Any, prefix: str, depth: int) -> list[str]:
    if not isinstance(value, dict) or not value or depth == 0:
        return [prefix]
    found = []
    for key, item in value.items():
        if isinstance(key, str) and key.isidentifier():
            found += _paths(item, f"{prefix}.{key}", depth - 1)
    return found or [prefix]


def variables(flow: Flow, step_id: str) -> list[Variable]:
    """The variables a template of this step can read: test data and the outputs of the
    steps that run before it, those in a branch it is not in marked with their If/then."""
    data = flow.test_data if isinstance(flow.test_data, dict) else {}
    found = []
    for key in TEST_DATA_KEYS:
        if isinstance(data.get(key), dict) and data[key]:
            found += [Variable(path) for path in _paths(data[key], key, PATH_DEPTH)]
    earlier = previews.readable_steps(flow.draft, step_id)
    outputs = previews.latest_outputs(flow, [r.step_id for r in earlier])
    for readable in earlier:
        paths = _paths(outputs.get(readable.step_id), f"actions.{readable.step_id}", 2)
        found += [Variable(path, readable.note) for path in paths]
    return found


def custom_vars(params: dict) -> list[Variable]:
    value = params.get("custom_vars")
    return [Variable(f"custom_vars.{k}") for k in value if k] if isinstance(value, dict) else []
