"""Logic actions (Auth0's ``type: "FLOW"``): If/then, shared variables, value mapping,
ending a run with an error, waiting, doing nothing, and returning JSON as the run's result.

They touch nothing outside the run. Some change the run itself, which an action cannot
reach: they say so in ``extra["effect"]`` and the engine applies their output —
``"vars"`` merges the output (an object) into the run's ``vars``, ``"result"`` makes the
output the run's ``result``, ``"branch"`` runs ``params.then`` or ``params.else`` by the
output's ``result``, ``"delay"`` puts the run to sleep for ``detail["seconds"]``. ``"end"``
says a failure of the step ends the run even when the step allows failure.
"""

import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from flows_app import conditions
from flows_app.actions.base import (
    BRANCH,
    CHOICE,
    CONDITION,
    JSON_TEMPLATE,
    KEY_VALUE,
    NUMBER,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)

TYPE = "FLOW"
GROUP = "Logic"
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MESSAGE_LIMIT = 2048
UNIT_SECONDS = {"SECONDS": 1, "MINUTES": 60, "HOURS": 3600, "DAYS": 86400}


def boolean_condition(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    rendered = inputs.get("if") or conditions.empty_condition()
    problems = list(conditions.shape_problems(rendered, rendered=True))
    if problems:
        raise StepFailed(f"The condition cannot be evaluated: {problems[0]}")
    evaluation = conditions.evaluate(rendered)
    branch = "then" if evaluation.result else "else"
    return StepOutcome(
        {"result": evaluation.result}, detail={"branch": branch, "checks": evaluation.checks}
    )


def delay_seconds(number: Any, units: Any) -> int | None:
    """The delay in seconds, or None when ``number`` and ``units`` do not make one."""
    if isinstance(number, bool) or units not in UNIT_SECONDS:
        return None
    if isinstance(number, str) and number.strip().isdigit() and len(number.strip()) <= 12:
        number = int(number)
    if not isinstance(number, int) or number < 0:
        return None
    return number * UNIT_SECONDS[units]


def delay_flow(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    seconds = delay_seconds(inputs.get("number"), inputs.get("units") or "SECONDS")
    if seconds is None:
        raise StepFailed("The delay is a whole number of seconds, minutes, hours or days.")
    if seconds > settings.MAX_DELAY:
        longest = _span(settings.MAX_DELAY)
        raise StepFailed(f"The delay is longer than the longest allowed, {longest}.")
    return StepOutcome({}, detail={"seconds": seconds})


def _span(seconds: int) -> str:
    for unit, size in reversed(UNIT_SECONDS.items()):
        if seconds % size == 0:
            count = seconds // size
            name = unit.lower() if count != 1 else unit.lower()[:-1]
            return f"{count} {name}"
    return f"{seconds} seconds"  # pragma: no cover  (every whole number is whole seconds)


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


def _check_condition_given(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """An If/then without a single comparison always takes the same branch: not ready."""
    test = params.get("if") or conditions.empty_condition()  # as a run reads it
    if list(conditions.shape_problems(test)) or any(True for _ in conditions.leaves(test)):
        return  # a condition of an unknown shape has its own problem
    branch = "Then" if conditions.evaluate(test).result else "Else"
    yield "if", f"Add a condition: without one, this If/then always takes {branch}."


def _stored_names(params: dict[str, Any]) -> tuple[OutputField, ...]:
    names = params.get("vars")
    return tuple(
        OutputField(str(name), f"The value stored as vars.{name}.")
        for name in (names if isinstance(names, dict) else ())
        if VAR_NAME.match(str(name))
    )


def _payload_keys(params: dict[str, Any]) -> tuple[OutputField, ...]:
    payload = params.get("payload")
    keys = payload if isinstance(payload, dict) else ()
    return tuple(OutputField(str(key), "A key of the payload.") for key in keys)


def _check_delay(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    number, units = params.get("number"), params.get("units") or "SECONDS"
    if number in (None, ""):
        return  # "Required." already says it
    seconds = delay_seconds(number, units)
    if seconds is None:
        if isinstance(number, int) and not isinstance(number, bool) and number < 0:
            yield "number", "A whole number, 0 or more."
        elif isinstance(number, str) and number.strip().isdigit():
            yield "number", f"At most {_span(settings.MAX_DELAY)} (SLUICE_MAX_DELAY)."
        # otherwise the input's own check says it is not a whole number, and units are checked
    elif seconds > settings.MAX_DELAY:
        yield "number", f"At most {_span(settings.MAX_DELAY)} (SLUICE_MAX_DELAY)."


def _check_payload(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    payload = params.get("payload")
    if payload is not None and not isinstance(payload, dict | str):
        yield "payload", "Must be a JSON object or text."


BOOLEAN_CONDITION = ActionType(
    type=TYPE,
    action="BOOLEAN_CONDITION",
    group=GROUP,
    label="If/then condition",
    description="Run one list of steps when a condition holds, another when it does not.",
    inputs=(
        Input(
            "if",
            "Condition",
            kind=CONDITION,
            help="Values are Liquid; a lone {{ expression }} keeps its type.",
        ),
        Input("then", "Then", kind=BRANCH, help="Steps that run when the condition holds."),
        Input("else", "Else", kind=BRANCH, help="Steps that run when it does not."),
    ),
    output='{"result": true|false}: whether the condition held.',
    output_fields=(OutputField("result", "Whether the condition held (true/false)."),),
    run=boolean_condition,
    extra={"effect": "branch", "check": _check_condition_given},
)
DELAY_FLOW = ActionType(
    type=TYPE,
    action="DELAY_FLOW",
    group=GROUP,
    label="Delay",
    description="Wait before the next step; the run sleeps without holding a worker.",
    inputs=(
        Input("number", "Wait for", kind=NUMBER, required=True, help="A whole number."),
        Input(
            "units",
            "Units",
            kind=CHOICE,
            choices=tuple(UNIT_SECONDS),
            default="SECONDS",
            required=True,
        ),
    ),
    output="{}",
    run=delay_flow,
    extra={"effect": "delay", "check": _check_delay},
)
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
    output_fields_from=_stored_names,
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
    output_fields=(OutputField("result", "The output of the matching value, else the default."),),
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
            help="The run's result: a JSON object, or text.",
        ),
    ),
    output="The payload, which also becomes the run's result.",
    output_fields_from=_payload_keys,
    run=return_json,
    extra={"effect": "result", "check": _check_payload},
)

ACTIONS = (
    BOOLEAN_CONDITION,
    STORE_VARS,
    MAP_VALUE,
    ERROR_MESSAGE,
    DELAY_FLOW,
    DO_NOTHING,
    RETURN_JSON,
)
