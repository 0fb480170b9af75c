"""The If/then condition: its shape, its comparison rules, and its evaluation.

Auth0 does not publish the shape of ``params.if``; Sluice's is a tree of groups and leaves::

    {"operator": "AND" | "OR", "operands": [<condition>, …]}
    {"operator": "EQUALS", "operands": [left, right]}   (a leaf; IS_EMPTY & co. take one)

Every operand is a template rendered like a JSON leaf: ``{{ actions.get_user.logins_count }}``
alone keeps its type (number, object…), anything else renders as text. The comparison
rules, which the README repeats:

- Numbers compare as numbers when both sides are numbers or text that reads as a decimal
  number (``"42"``, ``"-1.5"``); otherwise values compare as text, case-sensitively.
  ``true``/``false`` compare with booleans and with the text ``"true"``/``"false"``.
- An undefined value and ``null`` equal each other and nothing else; with them, every
  other comparison (CONTAINS, STARTS_WITH, GREATER_THAN…) is false, and its NOT_ form true.
- CONTAINS looks for a substring in text, an equal item in a list, a key in an object.
- IS_EMPTY: undefined, null, ``""``, ``[]`` and ``{}``. EXISTS: defined and not null.
- An AND group with no conditions is true, an OR group with none is false.
"""

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

GROUPS = ("AND", "OR")
UNARY = ("IS_EMPTY", "IS_NOT_EMPTY", "EXISTS", "NOT_EXISTS")
BINARY = (
    "EQUALS",
    "NOT_EQUALS",
    "CONTAINS",
    "NOT_CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "GREATER_THAN",
    "LESS_THAN",
)
OPERATORS = BINARY + UNARY
LABELS = {
    "AND": "all of",
    "OR": "any of",
    "EQUALS": "equals",
    "NOT_EQUALS": "does not equal",
    "CONTAINS": "contains",
    "NOT_CONTAINS": "does not contain",
    "STARTS_WITH": "starts with",
    "ENDS_WITH": "ends with",
    "GREATER_THAN": "is greater than",
    "LESS_THAN": "is less than",
    "IS_EMPTY": "is empty",
    "IS_NOT_EMPTY": "is not empty",
    "EXISTS": "exists",
    "NOT_EXISTS": "does not exist",
}
DEPTH_LIMIT = 10  # groups inside groups
SIZE_LIMIT = 200  # leaves in one condition
_NUMBER = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


class _Undefined:
    """A variable that is not there; distinct from JSON null."""

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED = _Undefined()


def empty_condition() -> dict[str, Any]:
    return {"operator": "AND", "operands": []}


def is_group(node: Any) -> bool:
    return isinstance(node, dict) and node.get("operator") in GROUPS


def shape_problems(node: Any, depth: int = 0, *, rendered: bool = False) -> Iterator[str]:
    """Say what is wrong with a condition's shape; nothing when Sluice can evaluate it.

    ``rendered``: the condition is as ``render`` made it, its leaves saying ``defined``."""
    keys = {"operator", "operands", "defined"} if rendered else {"operator", "operands"}
    if not isinstance(node, dict) or set(node) - keys:
        yield 'A condition is {"operator", "operands"}; this one is kept as it was.'
        return
    operator, operands = node.get("operator"), node.get("operands")
    if not isinstance(operands, list):
        yield f"{operator}: operands must be a list."
        return
    if operator in GROUPS:
        if depth >= DEPTH_LIMIT:
            yield f"Groups nest at most {DEPTH_LIMIT} deep."
            return
        for child in operands:
            yield from shape_problems(child, depth + 1, rendered=rendered)
    elif operator in OPERATORS:
        wanted = 1 if operator in UNARY else 2
        if len(operands) != wanted:
            yield f"{LABELS[operator]} takes {wanted} value{'s' if wanted > 1 else ''}."
        for operand in operands:
            if isinstance(operand, dict | list):
                yield f"{LABELS[operator]}: a value is text, a number, true/false or null."
    else:
        yield f"Unknown operator {operator!r}; use one of {', '.join(GROUPS + OPERATORS)}."


def leaves(node: Any) -> Iterator[dict[str, Any]]:
    """Every leaf condition, in order."""
    if is_group(node):
        for child in node.get("operands") or []:
            yield from leaves(child)
    elif isinstance(node, dict):
        yield node


def operand_templates(node: Any) -> Iterator[str]:
    for leaf in leaves(node):
        for operand in leaf.get("operands") or []:
            if isinstance(operand, str):
                yield operand


def count_leaves(node: Any) -> int:
    return sum(1 for _ in leaves(node))


Render = Callable[[Any], tuple[Any, bool]]  # an operand to (value, whether it is defined)


def render(node: Any, render_operand: Render) -> Any:
    """Render a condition's operands; each leaf also says which of them were defined.

    The result is JSON, for the run record: ``{"operator", "operands": [values],
    "defined": [bools]}`` for a leaf, groups as they were. ``evaluate`` reads it.
    """
    if is_group(node):
        return {
            "operator": node["operator"],
            "operands": [render(child, render_operand) for child in node.get("operands") or []],
        }
    if not isinstance(node, dict):
        return node
    pairs = [render_operand(operand) for operand in node.get("operands") or []]
    return {
        "operator": node.get("operator"),
        "operands": [value for value, _ in pairs],
        "defined": [defined for _, defined in pairs],
    }


@dataclass
class Evaluation:
    """The outcome, and each leaf's values and outcome, in order, for the run record."""

    result: bool
    checks: list[dict[str, Any]] = field(default_factory=list)


def evaluate(rendered: dict[str, Any]) -> Evaluation:
    """Evaluate a rendered condition of a valid shape. Every leaf is evaluated and kept, so
    the run record shows each operand even where AND / OR had already decided."""
    evaluation = Evaluation(False)
    evaluation.result = _evaluate(rendered, evaluation.checks)
    return evaluation


def _evaluate(node: dict[str, Any], checks: list[dict[str, Any]]) -> bool:
    operator = node["operator"]
    if operator in GROUPS:
        results = [_evaluate(child, checks) for child in node["operands"]]
        return all(results) if operator == "AND" else any(results)
    operands = node["operands"]
    defined = node.get("defined") or [True] * len(operands)
    values = [v if known else UNDEFINED for v, known in zip(operands, defined, strict=True)]
    result = compare(operator, *values)
    checks.append({**node, "result": result})
    return result


def compare(operator: str, left: Any, right: Any = UNDEFINED) -> bool:
    """Apply one leaf operator to rendered values, by the rules in this module's docstring."""
    if operator.startswith("NOT_"):
        return not compare(operator[4:], left, right)
    if operator == "IS_NOT_EMPTY":
        return not compare("IS_EMPTY", left)
    if operator == "IS_EMPTY":
        return _missing(left) or left in ("", [], {})
    if operator == "EXISTS":
        return not _missing(left)
    if operator == "EQUALS":
        return _equal(left, right)
    if _missing(left) or _missing(right):
        return False
    if operator == "CONTAINS":
        return _contains(left, right)
    if operator in ("STARTS_WITH", "ENDS_WITH"):
        text, part = _text(left), _text(right)
        return text.startswith(part) if operator == "STARTS_WITH" else text.endswith(part)
    if operator in ("GREATER_THAN", "LESS_THAN"):
        return _order(left, right, operator == "GREATER_THAN")
    raise ValueError(f"Unknown operator {operator!r}")


def _missing(value: Any) -> bool:
    return value is UNDEFINED or value is None


def _equal(left: Any, right: Any) -> bool:
    if _missing(left) or _missing(right):
        return _missing(left) and _missing(right)
    numbers = _numbers(left, right)
    if numbers:
        return numbers[0] == numbers[1]
    booleans = _booleans(left, right)
    if booleans:
        return booleans[0] == booleans[1]
    if isinstance(left, dict | list) and isinstance(right, dict | list):
        return left == right
    return _text(left) == _text(right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, list):
        return any(_equal(element, item) for element in container)
    if isinstance(container, dict):
        return _text(item) in container
    return _text(item) in _text(container)


def _order(left: Any, right: Any, greater: bool) -> bool:
    numbers = _numbers(left, right)
    if numbers:
        return numbers[0] > numbers[1] if greater else numbers[0] < numbers[1]
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return False
    a, b = _text(left), _text(right)
    return a > b if greater else a < b


def _numbers(left: Any, right: Any) -> tuple[float, float] | None:
    a, b = _number(left), _number(right)
    return (a, b) if a is not None and b is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.match(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _booleans(left: Any, right: Any) -> tuple[bool, bool] | None:
    if not (isinstance(left, bool) or isinstance(right, bool)):
        return None
    a, b = _boolean(left), _boolean(right)
    return (a, b) if a is not None and b is not None else None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)
