"""The inspector's form: a step's inputs as fields, and the posted form read back into params.

An If/then's condition is a builder of its own, in ``condition_form``.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from flows_app import preview as previews
from flows_app.actions.base import (
    BOOL,
    BRANCH,
    CHOICE,
    CONDITION,
    CONNECTION,
    JSON_TEMPLATE,
    KEY_VALUE,
    NUMBER,
    OPTIONS,
    RENDERED_KINDS,
    SENDER,
    TEMPLATE_OR_NUMBER,
    TEXT_LIST,
    ActionType,
    Input,
)
from flows_app.definition import Problem
from flows_app.json_limits import NUL_MESSAGE, TooDeep, has_nul, loads
from flows_app.views.condition_form import ConditionBuilder, condition_builder, read_condition
from vault_app.kinds import kinds_for
from vault_app.models import Connection

NUMBER_DIGITS = 18  # a longer number is kept as typed, and validation says it is too long


@dataclass
class FieldView:
    """One input of the selected step, ready for the inspector's form."""

    spec: Input
    value: Any = ""
    text: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    preview: previews.InputPreview | None = None
    condition: ConditionBuilder | None = None
    parts: list[tuple[Input, Any]] = field(default_factory=list)  # an OPTIONS input's settings

    @property
    def id(self) -> str:
        return f"in-{self.spec.name}"

    @property
    def templated(self) -> bool:
        """Whether the field takes Liquid: it gets the variable picker."""
        if self.condition is not None:
            return not self.condition.problems
        return self.spec.kind in RENDERED_KINDS

    @property
    def empty_required(self) -> bool:
        """Required and empty: its one error is "Required.", which goes once it is typed in."""
        return self.spec.required and self.value in (None, "", {}, [])

    @property
    def previewed(self) -> bool:
        """Whether the field has a live preview (a Delay's units say how long it waits)."""
        return self.templated or self.spec.kind == CONDITION or self.preview is not None


def _connections(kind: str | None) -> list[tuple[str, str]]:
    return [
        (str(pk), name)
        for pk, name in Connection.objects.filter(kind__in=kinds_for(kind or "")).values_list(
            "pk", "name"
        )
    ]


def field_views(
    action: ActionType,
    params: dict,
    problems: list[Problem],
    typed: dict[str, str] | None = None,
    json_errors: dict[str, str] | None = None,
) -> list[FieldView]:
    """The inputs of a step with their values, errors and choices; ``typed`` keeps bad JSON.

    An If/then's branches are not fields: the canvas shows and edits them.
    """
    typed, json_errors = typed or {}, json_errors or {}
    views = []
    for spec in action.inputs:
        if spec.kind == BRANCH:
            continue
        value = params.get(spec.name)
        view = FieldView(spec, value=value, text=_as_text(spec, value, typed))
        view.errors = [p.message for p in problems if p.input == spec.label]
        if spec.name in json_errors:
            view.errors.insert(0, json_errors[spec.name])
        if spec.kind == KEY_VALUE:
            items = value.items() if isinstance(value, dict) else ()
            view.rows = [(str(k), "" if v is None else str(v)) for k, v in items] or [("", "")]
        elif spec.kind == CHOICE:
            view.options = [(choice, choice) for choice in spec.choices]
        elif spec.kind == CONNECTION:
            view.options = _connections(spec.connection_kind)
        elif spec.kind == CONDITION:
            view.condition = condition_builder(f"p-{spec.name}", value, params)
        elif spec.kind == OPTIONS:
            view.parts = _option_parts(spec, value)
        views.append(view)
    return views


def _option_parts(spec: Input, value: Any) -> list[tuple[Input, Any]]:
    """Each setting of an OPTIONS input with its value: checked, or its lines as text."""
    value = value if isinstance(value, dict) else {}
    parts: list[tuple[Input, Any]] = []
    for part in spec.parts:
        item = value.get(part.name)
        if part.kind == TEXT_LIST:
            lines = item if isinstance(item, list) else []
            parts.append((part, "\n".join(str(line) for line in lines)))
        else:
            parts.append((part, item is True))
    return parts


def _as_text(spec: Input, value: Any, typed: dict[str, str]) -> str:
    if spec.name in typed:
        return typed[spec.name]
    if value is None:
        return ""
    if spec.kind == JSON_TEMPLATE:
        return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def read_params(
    action: ActionType, data: QueryDict, old: dict
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """Read the inspector form: params, JSON errors by input, and the JSON text as typed.

    An input whose JSON does not parse keeps its saved value, so nothing else is lost.
    """
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    for spec in action.inputs:
        key = f"p-{spec.name}"
        if spec.kind == JSON_TEMPLATE:
            text = data.get(key, "")
            typed[spec.name] = text
            value, error = parse_json(text)
            if error and spec.text_allowed and _reads_as_text(text):
                value, error = text, ""
            if error:
                errors[spec.name] = error
                value = old.get(spec.name)
        elif spec.kind == BRANCH:
            value = old.get(spec.name)  # the form never sends branches: keep them
        elif spec.kind == CONDITION:
            value = read_condition(key, data, old.get(spec.name))
        else:
            value = _read_value(spec, data, key, old.get(spec.name))
        if value not in (None, "", {}):
            params[spec.name] = value
    return params, errors, typed


def _read_value(spec: Input, data: QueryDict, key: str, old: Any = None) -> Any:
    if spec.kind == KEY_VALUE:
        rows = zip(data.getlist(f"{key}-name"), data.getlist(f"{key}-value"), strict=False)
        return {name.strip(): value for name, value in rows if name.strip() or value}
    if spec.kind == SENDER:
        if not data.get(f"{key}-on"):
            return None
        sender = {"email": data.get(f"{key}-email", "").strip()}
        name = data.get(f"{key}-name", "").strip()
        return {**sender, "name": name} if name else sender
    if spec.kind == BOOL:
        return key in data
    if spec.kind == CONNECTION:
        raw = data.get(key, "")
        return int(raw) if raw.isdigit() else raw
    if spec.kind == OPTIONS:
        return _read_options(spec, data, key, old)
    if spec.kind == TEMPLATE_OR_NUMBER:
        raw = data.get(key, "")
        unchanged = isinstance(old, int) and not isinstance(old, bool) and raw.strip() == str(old)
        return old if unchanged else raw  # an imported number stays a number until edited
    if spec.kind == NUMBER:
        raw = data.get(key, "").strip()
        whole = raw.isascii() and raw.isdigit() and len(raw) <= NUMBER_DIGITS
        return int(raw) if whole else raw[:100]  # kept as typed: validation says what is wrong
    return data.get(key, "")


def _reads_as_text(text: str) -> bool:
    """Whether text typed into a JSON-or-text input is meant as text: anything but a
    broken object or list (a template's {{ or {% starts like an object, but is text)."""
    start = text.strip()[:2]
    return start in ("{{", "{%") or start[:1] not in ("{", "[")


def _read_options(spec: Input, data: QueryDict, key: str, old: Any) -> dict[str, Any]:
    """The settings as ticked and typed; a setting left at its default is written only if
    the step had it, so an imported step keeps its exact keys."""
    old = old if isinstance(old, dict) else {}
    value: dict[str, Any] = {}
    for part in spec.parts:
        name = f"{key}-{part.name}"
        if part.kind == TEXT_LIST:
            item: Any = [line.strip() for line in data.get(name, "").splitlines() if line.strip()]
        else:
            item = name in data
        if item or part.name in old:
            value[part.name] = item
    return value


def parse_json(text: str) -> tuple[Any, str]:
    """Parse typed JSON: (the value, or None when blank or bad; a sentence saying what is wrong)."""
    if not text.strip():
        return None, ""
    try:
        value = loads(text, "This JSON")
    except json.JSONDecodeError as exc:
        return None, f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    except TooDeep as exc:
        return None, str(exc)
    if has_nul(value):
        return None, NUL_MESSAGE
    return value, ""
