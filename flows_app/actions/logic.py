"""Logic actions (Auth0's ``type: "FLOW"``): shared variables, value mapping, ending a run
with an error, doing nothing, and returning JSON as the run's result.

They touch nothing outside the run. Two of them change the run itself, which an action
cannot reach: they say so in ``extra["effect"]`` and the engine applies their output —
``"vars"`` merges the output (an object) into the run's ``vars``, ``"result"`` makes the
output the run's ``result``. ``"end"`` says a failure of the step ends the run even when
the step allows failure.
"""

import re
from collections.abc import Iterator
from typing import Any

from flows_app.actions.base import (
    JSON_TEMPLATE,
    KEY_VALUE,
    ActionType,
    Input,
    StepContext,
    StepFailed,
    StepOutcome,
)

TYPE = "FLOW"
GROUP = "Logic"
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MESSAGE_LIMIT = 2048


def store_vars(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    return StepOutcome(dict(inputs.get("vars") or {}))


def map_value(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    value = _text(inputs.get("input"))
    cases = inputs.get("cases") or {}
    for key, output in cases.items():
        if str(key) == value:
            return StepOutcome({"result": output})
    return StepOutcome({"result": inputs.get("fallback")})


def error_message(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    message = _text(inputs.get("message")).strip()
    raise StepFailed(message[:MESSAGE_LIMIT] or "The flow ended with an error.")


def do_nothing(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    return StepOutcome({})


def return_json(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    payload = inputs.get("payload")
    if not isinstance(payload, dict | str):
        raise StepFailed("The payload must be a JSON object or text.")
    return StepOutcome(payload)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _check_var_names(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    names = params.get("vars")
    for name in names if isinstance(names, dict) else ():
        if not VAR_NAME.match(str(name)):
            yield "vars", f"{name!r}: a name is letters, digits or _, not starting with a digit."


def _check_payload(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    payload = params.get("payload")
    if payload is not None and not isinstance(payload, dict | str):
        yield "payload", "Must be a JSON object or text."


STORE_VARS = ActionType(
    type=TYPE,
    action="STORE_VARS",
    group=GROUP,
    label="Store shared variables",
    description="Store values that every later step reads as {{ vars.key }}.",
    inputs=(
        Input(
            "vars",
            "Variables",
            kind=KEY_VALUE,
            required=True,
            help="A value that is a lone {{ expression }} keeps its type (number, object…).",
        ),
    ),
    output="The variables it stored, as an object; later steps read them as {{ vars.key }}.",
    run=store_vars,
    extra={"effect": "vars", "check": _check_var_names},
)
MAP_VALUE = ActionType(
    type=TYPE,
    action="MAP_VALUE",
    group=GROUP,
    label="Map value",
    description="Turn an input value into another one through a mapping table.",
    inputs=(
        Input("input", "Input value", required=True, help="The value to look up in the table."),
        Input(
            "cases",
            "Mapping",
            kind=KEY_VALUE,
            help="Value to match (compared as text) → output value.",
        ),
        Input("fallback", "Default output", help="The output when no value matches."),
    ),
    output='{"result": …}: the output of the matching value, else the default output.',
    run=map_value,
)
ERROR_MESSAGE = ActionType(
    type=TYPE,
    action="ERROR_MESSAGE",
    group=GROUP,
    label="Show error message",
    description="End the run as failed with a message; nothing after it runs.",
    inputs=(
        Input(
            "message",
            "Error message",
            required=True,
            max_length=MESSAGE_LIMIT,
            help="Liquid is supported. Ends the run even if the step allows failure.",
        ),
    ),
    output="None: the run ends as failed with this message.",
    run=error_message,
    extra={"effect": "end"},
)
DO_NOTHING = ActionType(
    type=TYPE,
    action="DO_NOTHING",
    group=GROUP,
    label="Do nothing",
    description="A step that does nothing; a placeholder.",
    inputs=(),
    output="{}",
    run=do_nothing,
)
RETURN_JSON = ActionType(
    type=TYPE,
    action="RETURN_JSON",
    group=GROUP,
    label="Return JSON",
    description="Set the run's result, shown on the run page and returned by the run API.",
    inputs=(
        Input(
            "payload",
            "Payload",
            kind=JSON_TEMPLATE,
            required=True,
            help="A JSON object or text; string values are Liquid.",
        ),
    ),
    output="The payload, which also becomes the run's result.",
    run=return_json,
    extra={"effect": "result", "check": _check_payload},
)

ACTIONS = (STORE_VARS, MAP_VALUE, ERROR_MESSAGE, DO_NOTHING, RETURN_JSON)
