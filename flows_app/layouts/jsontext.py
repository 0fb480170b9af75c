"""JSON as Auth0's deploy CLI writes it: ``JSON.stringify(value, null, 2)``, keys in Auth0's order.

The deploy CLI writes what Auth0's API returns, so a flow file reads ``name``, ``actions``;
each action ``id``, ``alias``, ``type``, ``action``, ``allow_failure``, ``mask_output``,
``params``; and ``params`` in the order of Auth0's catalogue (the order of the action's
inputs). A database does not keep the order of keys inside values (PostgreSQL's jsonb
reorders them), so keys inside values, and params Sluice does not know, are written in
alphabetical order: the same bytes from every database, export after export. JavaScript
always puts integer-like keys first, in numeric order; so does this module.
"""

import json
import re
from decimal import Decimal
from typing import Any

from flows_app.actions import ACTION_TYPES
from flows_app.definition import branches_of

FLOW_KEYS = ("name", "actions")
STEP_KEYS = ("id", "alias", "type", "action", "allow_failure", "mask_output", "params")
ARRAY_INDEX = re.compile(r"\A(?:0|[1-9][0-9]{0,9})\Z")
SURROGATE = re.compile(r"[\ud800-\udfff]")


def stringify(value: Any) -> str:
    """The text ``JSON.stringify(value, null, 2)`` gives, keys in the order they are in."""
    out: list[str] = []
    _write(value, 0, out)
    return "".join(out)


def flow_in_auth0_order(document: dict) -> dict:
    """A flow document with its keys in the order the deploy CLI writes them."""
    return _ordered(document, FLOW_KEYS, {"actions": _steps})


def normalized(value: Any) -> Any:
    """``value`` with every object's keys in alphabetical (JavaScript) order: two documents
    that mean the same stringify the same after this."""
    if isinstance(value, dict):
        return {key: normalized(value[key]) for key in _js_order(sorted(value))}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def _js_order(keys: list[str]) -> list[str]:
    """Integer-like keys first in numeric order, the others as given: JavaScript's order."""
    indexes = sorted((k for k in keys if ARRAY_INDEX.match(k) and int(k) < 2**32 - 1), key=int)
    first = set(indexes)
    return indexes + [k for k in keys if k not in first]


def _ordered(value: Any, first: tuple[str, ...], inner: dict) -> Any:
    if not isinstance(value, dict):
        return normalized(value)
    keys = [k for k in first if k in value] + sorted(k for k in value if k not in first)
    return {k: inner.get(k, normalized)(value[k]) for k in _js_order(keys)}


def _steps(steps: Any) -> Any:
    if not isinstance(steps, list):
        return normalized(steps)
    return [_step(step) for step in steps]


def _step(step: Any) -> Any:
    if not isinstance(step, dict):
        return normalized(step)
    action = ACTION_TYPES.get(f"{step.get('type')}/{step.get('action')}")
    inputs = tuple(spec.name for spec in action.inputs) if action else ()
    branches = {name: _steps for name, _ in branches_of(step)}
    return _ordered(step, STEP_KEYS, {"params": lambda p: _ordered(p, inputs, branches)})


def _write(value: Any, level: int, out: list[str]) -> None:
    if isinstance(value, dict):
        _write_items([(_string(k) + ": ", v) for k, v in value.items()], "{}", level, out)
    elif isinstance(value, list):
        _write_items([("", v) for v in value], "[]", level, out)
    else:
        out.append(_scalar(value))


def _write_items(items: list[tuple[str, Any]], brackets: str, level: int, out: list[str]) -> None:
    if not items:
        out.append(brackets)
        return
    pad = "  " * (level + 1)
    out.append(brackets[0])
    for index, (prefix, item) in enumerate(items):
        out.append(("\n" if index == 0 else ",\n") + pad + prefix)
        _write(item, level + 1, out)
    out.append("\n" + "  " * level + brackets[1])


def _scalar(value: Any) -> str:
    if value is None or value is True or value is False:
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    return SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


def _number(value: float) -> str:
    """A float as JavaScript's ``Number.prototype.toString`` writes it."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"  # as JSON.stringify writes NaN and Infinity
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    exact = Decimal(repr(abs(value))).normalize()
    digits = "".join(str(d) for d in exact.as_tuple().digits)
    point = len(digits) + int(exact.as_tuple().exponent)  # value = 0.digits × 10^point
    if len(digits) <= point <= 21:
        return sign + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
