"""Pinned step outputs: a test run takes a pinned step's output as given instead of running it.

Pins are Sluice's extra at the top level of the draft, ``"pins": {step_id: output}``, so
they travel with the draft: into Undo, into the versions it is published as (the version
history shows them), into Sluice's export and back, and never into Auth0's, whose flows
have no place for them. Only test runs use them (see ``flows_app.engine``); a published
run, or any other run, executes every step.

A pin is any JSON value a step's output could be, within limits: at most ``PIN_LIMIT``
bytes, nested at most ``JSON_DEPTH_LIMIT`` deep, no NUL characters. Where the output
changes the run, its shape must fit: an If/then's pin is ``{"result": true|false}`` (it
picks the branch), a Store shared variables pin an object of variables. A pin belongs to
a step id: renaming the step moves it, and deleting the step drops it.
"""

import copy
import json
from typing import Any

from flows_app.actions.logic import VAR_NAME
from flows_app.definition import action_of, all_steps, find
from flows_app.json_limits import JSON_DEPTH_LIMIT, NUL_MESSAGE, TooDeep, depth_exceeds, has_nul
from flows_app.json_limits import loads as load_json
from flows_app.models import Run, StepRun
from flows_app.redaction import MASK

PINS = "pins"
PIN_LIMIT = 100_000  # bytes of compact JSON in one pinned output


class PinError(ValueError):
    """A pin that cannot be set; the message says why, for the person editing."""


def pins_of(definition: Any) -> dict[str, Any]:
    """The pinned outputs of a definition, by step id ({} when it has none)."""
    pins = definition.get(PINS) if isinstance(definition, dict) else None
    return pins if isinstance(pins, dict) else {}


def parse_pin(text: str) -> Any:
    """The JSON value typed as a pinned output; PinError saying where it is not JSON."""
    if not text.strip():
        raise PinError('Type the output as JSON, for example {"email": "ada@example.com"}.')
    try:
        return load_json(text, "The output", parse_constant=_refuse_constant)
    except TooDeep as exc:
        raise PinError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise PinError(
            f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError as exc:
        raise PinError(f"This is not valid JSON: {exc}.") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def pin_problem(step: dict, value: Any) -> str:
    """What keeps ``value`` from being the pinned output of ``step``; "" when nothing."""
    if depth_exceeds(value):
        return f"The output nests objects and lists more than {JSON_DEPTH_LIMIT} deep."
    if has_nul(value):
        return NUL_MESSAGE
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > PIN_LIMIT:
        return f"A pinned output is at most {PIN_LIMIT:,} bytes of JSON; this one is {size:,}."
    action = action_of(step)
    if action is None:
        return "Sluice does not support this action yet, so its output cannot be pinned."
    effect = action.extra.get("effect")
    if effect == "branch" and not (isinstance(value, dict) and _is_bool(value.get("result"))):
        return (
            'An If/then\'s output is {"result": true} or {"result": false}: '
            "it picks the branch a test run takes."
        )
    if effect == "vars":
        return _vars_problem(value)
    return ""


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _vars_problem(value: Any) -> str:
    if not isinstance(value, dict):
        return "Store shared variables outputs an object: the variables it stores, by name."
    bad = sorted(name for name in value if not VAR_NAME.match(name))
    if bad:
        return f"{bad[0]!r} is not a variable name: letters, digits and _, not a digit first."
    return ""


def with_pin(definition: dict, step_id: str, value: Any) -> dict:
    """The definition with ``value`` pinned as the output of ``step_id``; PinError if it
    cannot be."""
    placed = find(definition, step_id)
    if placed is None:
        raise PinError(f"There is no step {step_id!r} in this flow.")
    problem = pin_problem(placed.step, value)
    if problem:
        raise PinError(problem)
    result = copy.deepcopy(definition)
    result[PINS] = {**pins_of(result), step_id: value}
    return result


def without_pin(definition: dict, step_id: str) -> dict:
    """The definition with the pin of ``step_id`` taken out (and ``pins`` gone when empty)."""
    result = copy.deepcopy(definition)
    pins = {k: v for k, v in pins_of(result).items() if k != step_id}
    return _set_pins(result, pins)


def renamed_pin(definition: dict, old: str, new: str) -> dict:
    """The definition, in place, with the pin of step ``old`` moved to ``new``."""
    pins = pins_of(definition)
    if old in pins and old != new:
        definition[PINS] = {(new if k == old else k): v for k, v in pins.items()}
    return definition


def kept_pins(definition: dict) -> dict:
    """The definition without the pins of steps it no longer has (the same one when none)."""
    pins = pins_of(definition)
    if PINS not in definition:
        return definition
    ids = {str(step.get("id")) for step in all_steps(definition)}
    kept = {k: v for k, v in pins.items() if k in ids}
    if kept == definition[PINS]:
        return definition
    return _set_pins(dict(definition), kept)


def _set_pins(definition: dict, pins: dict) -> dict:
    if pins:
        definition[PINS] = pins
    else:
        definition.pop(PINS, None)
    return definition


def pin_problems(definition: dict) -> list[tuple[str, str]]:
    """(step id, problem) for each pin of an incoming document that cannot be kept."""
    raw = definition.get(PINS)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [("", "pins must be an object of step ids and their pinned outputs.")]
    problems = []
    for step_id, value in raw.items():
        placed = find(definition, step_id)
        if placed is None:
            problems.append((step_id, f"pins: there is no step {step_id!r} to pin."))
        elif message := pin_problem(placed.step, value):
            problems.append((step_id, f"pins: {message}"))
    return problems


def recorded_output(run: Run, step_id: str) -> Any:
    """The output a run recorded for a step, to pin; PinError when it has none to give."""
    record = run.steps.filter(step_id=step_id).first()
    done = (StepRun.Status.SUCCEEDED, StepRun.Status.PINNED)
    if record is None or record.status not in done:
        state = record.get_status_display().lower() if record else "did not run"
        raise PinError(
            f"Run #{run.pk} has no output of {step_id} to pin (the step {state}): "
            "run a test, or type the output."
        )
    if record.sealed_output or record.output == MASK:
        raise PinError(
            "This step masks its output, so run history does not keep it to pin: "
            "type the output instead."
        )
    return record.output
