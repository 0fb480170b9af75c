"""The If/then condition in the inspector: the tree as form fields, and the fields back.

Fields are named by their place in the tree: ``p-if-operator`` is the outermost group's
AND/OR, ``p-if-0-operator`` the operator of its first member, ``p-if-0-left`` and
``p-if-0-right`` that comparison's values, and ``p-if-1-0-operator`` the first member of a
nested group at index 1. Indexes may have gaps (the browser removes rows without
renumbering); they are read in order. A value that is not text (a number, true/false,
null) travels with ``…-left-typed`` so that it keeps its type while left alone, and a
condition that is one comparison, not a group, with ``p-if-root=leaf``. Without JavaScript
the builder's buttons post ``p-if-edit`` (``add-leaf:<path>``, ``add-group:<path>``,
``remove:<path>``, ``reset``) and the page that comes back shows the change.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from flows_app import conditions

PLACEHOLDER = "__path__"  # stands for a path in the builder's templates of new rows


@dataclass
class Operand:
    """A comparison's value as the builder shows it; ``typed`` is the JSON of a value that
    is not text (a number, true/false, null), so that it keeps its type when left alone."""

    text: str = ""
    typed: str = ""

    @property
    def multiline(self) -> bool:
        """A value with line breaks, which a one-line input would lose."""
        return "\n" in self.text or "\r" in self.text


@dataclass
class ConditionPart:
    """One piece of the builder, in document order: a group opens, its members follow,
    and it closes (its Add buttons sit there); a leaf is one comparison."""

    kind: str  # "open", "leaf" or "close"
    path: str  # indexes joined by "-"; "" for the outermost group
    depth: int  # groups around it
    operator: str = ""
    left: Operand = field(default_factory=Operand)
    right: Operand = field(default_factory=Operand)
    stem: str = "p-if"

    @property
    def prefix(self) -> str:
        return f"{self.stem}-{self.path}" if self.path else self.stem

    @property
    def can_nest(self) -> bool:
        return self.depth + 1 < conditions.DEPTH_LIMIT


@dataclass
class ConditionBuilder:
    """What the inspector shows for a condition: the builder, or, for a shape Sluice does
    not know, the JSON as it is (kept unchanged on save) and what is wrong with it."""

    stem: str
    parts: list[ConditionPart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    json: str = ""
    root_is_leaf: bool = False
    branches: list[tuple[str, list[str]]] = field(default_factory=list)

    depth_limit = conditions.DEPTH_LIMIT
    operators = [(op, conditions.LABELS[op], op in conditions.UNARY) for op in conditions.OPERATORS]
    groups = [(op, conditions.LABELS[op]) for op in conditions.GROUPS]

    @property
    def new_leaf(self) -> ConditionPart:
        return ConditionPart("leaf", PLACEHOLDER, 0, "EQUALS", stem=self.stem)

    @property
    def new_group(self) -> list[ConditionPart]:
        """A group with one empty comparison, for the browser to copy."""
        return [
            ConditionPart("open", PLACEHOLDER, 1, "AND", stem=self.stem),
            ConditionPart("leaf", f"{PLACEHOLDER}-0", 1, "EQUALS", stem=self.stem),
            ConditionPart("close", PLACEHOLDER, 1, "AND", stem=self.stem),
        ]


def condition_builder(stem: str, value: Any, params: dict) -> ConditionBuilder:
    """The builder for a condition ``value`` of a step with ``params`` (for its branches)."""
    builder = ConditionBuilder(stem)
    builder.branches = [
        (name.title(), [str(s.get("id")) for s in steps if isinstance(s, dict)])
        for name, steps in ((n, params.get(n)) for n in ("then", "else"))
        if isinstance(steps, list)
    ]
    tree = conditions.empty_condition() if value is None else value
    builder.problems = list(conditions.shape_problems(tree))
    if builder.problems:
        builder.json = json.dumps(value, indent=2, ensure_ascii=False)
        return builder
    if not conditions.is_group(tree):
        builder.root_is_leaf = True
        tree = {"operator": "AND", "operands": [tree]}
    builder.parts = list(_parts(stem, tree, (), 0))
    return builder


def _parts(stem: str, node: dict, path: tuple[int, ...], depth: int) -> Iterator[ConditionPart]:
    where = "-".join(map(str, path))
    if conditions.is_group(node):
        yield ConditionPart("open", where, depth, node["operator"], stem=stem)
        for index, child in enumerate(node["operands"]):
            yield from _parts(stem, child, (*path, index), depth + 1)
        yield ConditionPart("close", where, depth, node["operator"], stem=stem)
        return
    operands = [_operand(value) for value in node["operands"]]
    left, right = (operands + [Operand(), Operand()])[:2]
    yield ConditionPart("leaf", where, depth, node["operator"], left, right, stem=stem)


def _operand(value: Any) -> Operand:
    if isinstance(value, str):
        return Operand(value)
    typed = json.dumps(value)
    return Operand(typed, typed)


# --- Reading the form ----------------------------------------------------------------------

Path = tuple[int, ...]


def read_condition(stem: str, data: QueryDict, old: Any) -> Any:
    """Read the builder's fields back into the condition tree.

    When the form has no builder (the condition was of a shape Sluice does not know, shown
    read-only), the condition is kept as it was.
    """
    edit = data.get(f"{stem}-edit", "")
    if edit == "reset":
        return conditions.empty_condition()
    operators = _posted_operators(stem, data)
    if () not in operators:
        return old
    _apply_edit(operators, edit)
    members: dict[Path, list[Path]] = defaultdict(list)
    for path in sorted(operators):
        if path:
            members[path[:-1]].append(path)
    tree = _node(stem, (), operators, members, data)
    if data.get(f"{stem}-root") == "leaf" and _lone_comparison(tree):
        return tree["operands"][0]  # a condition that came as one comparison stays one
    return tree


def _lone_comparison(group: dict[str, Any]) -> bool:
    members = group["operands"]
    return group["operator"] == "AND" and len(members) == 1 and not conditions.is_group(members[0])


def _posted_operators(stem: str, data: QueryDict) -> dict[Path, str]:
    pattern = re.compile(rf"^{re.escape(stem)}((?:-\d{{1,4}})*)-operator$")
    operators = {}
    for name in data:
        match = pattern.match(name)
        path = tuple(int(i) for i in match.group(1).split("-")[1:]) if match else None
        if path is not None and len(path) <= conditions.DEPTH_LIMIT + 1:
            operators[path] = data.get(name, "")
    return operators


def _apply_edit(operators: dict[Path, str], edit: str) -> None:
    """Apply a builder button pressed without JavaScript: add to or remove from a group."""
    what, _, where = edit.partition(":")
    try:
        path = tuple(int(i) for i in where.split("-")) if where else ()
    except ValueError:
        return
    if what == "remove" and path:
        for other in [p for p in operators if p[: len(path)] == path]:
            del operators[other]
    elif what in ("add-leaf", "add-group") and operators.get(path) in conditions.GROUPS:
        taken = [p[-1] for p in operators if len(p) == len(path) + 1 and p[:-1] == path]
        new = (*path, max(taken, default=-1) + 1)
        operators[new] = "EQUALS" if what == "add-leaf" else "AND"
        if what == "add-group":
            operators[(*new, 0)] = "EQUALS"


def _node(
    stem: str,
    path: Path,
    operators: dict[Path, str],
    members: dict[Path, list[Path]],
    data: QueryDict,
) -> dict[str, Any]:
    operator = operators[path]
    if operator in conditions.GROUPS:
        operands = [_node(stem, member, operators, members, data) for member in members[path]]
        return {"operator": operator, "operands": operands}
    name = "-".join((stem, *map(str, path)))
    operands = [_read_operand(data, f"{name}-left")]
    if operator not in conditions.UNARY:
        operands.append(_read_operand(data, f"{name}-right"))
    return {"operator": operator, "operands": operands}


def _read_operand(data: QueryDict, name: str) -> Any:
    """The text typed; a number, true/false or null stays one while its text is unchanged."""
    text = data.get(name, "")
    typed = data.get(f"{name}-typed", "")
    if typed and typed == text:
        try:
            value = json.loads(typed)
        except (json.JSONDecodeError, RecursionError):
            return text
        return value if not isinstance(value, dict | list) else text
    return text
