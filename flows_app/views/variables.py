"""The inspector's variable picker: what a step's templates can read."""

from typing import Any

from flows_app import preview as previews
from flows_app.definition import steps_of
from flows_app.liquid_functions import FUNCTIONS
from flows_app.models import Flow

TEST_DATA_KEYS = ("context", "fields", "vars")
PATH_DEPTH = 3
FUNCTION_CALLS = [f"functions.{name}()" for name in sorted(FUNCTIONS)]


def _paths(value: Any, prefix: str, depth: int) -> list[str]:
    if not isinstance(value, dict) or not value or depth == 0:
        return [prefix]
    found = []
    for key, item in value.items():
        if isinstance(key, str) and key.isidentifier():
            found += _paths(item, f"{prefix}.{key}", depth - 1)
    return found or [prefix]


def variables(flow: Flow, step_id: str) -> list[str]:
    """The variables a template of this step can read: test data and earlier steps' outputs."""
    data = flow.test_data if isinstance(flow.test_data, dict) else {}
    found = []
    for key in TEST_DATA_KEYS:
        if isinstance(data.get(key), dict) and data[key]:
            found += _paths(data[key], key, PATH_DEPTH)
    earlier = []
    for step in steps_of(flow.draft):
        if step.get("id") == step_id:
            break
        earlier.append(str(step.get("id")))
    outputs = previews.latest_outputs(flow, earlier)
    for earlier_id in earlier:
        found += _paths(outputs.get(earlier_id), f"actions.{earlier_id}", 2)
    return found


def custom_vars(params: dict) -> list[str]:
    value = params.get("custom_vars")
    return [f"custom_vars.{k}" for k in value if k] if isinstance(value, dict) else []
