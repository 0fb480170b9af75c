"""Render a step's inputs from its params: the one path the preview and the engine share."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows_app import conditions, templating
from flows_app.actions.base import (
    CONDITION,
    HTML_TEMPLATE,
    JSON_TEMPLATE,
    KEY_VALUE,
    SENDER,
    TEMPLATE,
    TEMPLATE_OR_NUMBER,
    XML_TEMPLATE,
    ActionType,
    Input,
)


class InputError(Exception):
    """An input could not be rendered; says which one and why."""

    def __init__(self, spec: Input, error: templating.TemplateError):
        super().__init__(f"{spec.label}: {error}")
        self.spec = spec
        self.error = error


@dataclass
class RenderedInputs:
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    masked: set[str] = field(default_factory=set)

    def add(self, spec: Input, value: Any, scope: Mapping[str, Any]) -> None:
        try:
            rendered = render_input(spec, value, scope)
        except templating.TemplateError as exc:
            raise InputError(spec, exc) from None
        self.values[spec.name] = rendered.value
        self.warnings += [w for w in rendered.warnings if w not in self.warnings]
        self.masked |= rendered.masked


def render_input(spec: Input, value: Any, scope: Mapping[str, Any]) -> templating.Rendered:
    """Render one input as its kind says; raises templating.TemplateError."""
    if value is None:
        return templating.Rendered(None, [], set())
    if spec.kind == TEMPLATE and spec.keeps_type:
        return templating.render_value(str(value), scope)
    if spec.kind == TEMPLATE:
        return templating.render_text(str(value), scope)
    if spec.kind in (HTML_TEMPLATE, XML_TEMPLATE):  # markup: the values are escaped
        return templating.render_html(str(value), scope)
    if spec.kind in (JSON_TEMPLATE, KEY_VALUE, SENDER, TEMPLATE_OR_NUMBER):
        return templating.render_json(value, scope)
    if spec.kind == CONDITION:
        return _render_condition(value, scope)
    return templating.Rendered(value, [], set())


def _render_condition(value: Any, scope: Mapping[str, Any]) -> templating.Rendered:
    """Render each operand like a JSON leaf, noting which ones name nothing (undefined)."""
    warnings: dict[str, None] = {}
    masked: set[str] = set()

    def operand(source: Any) -> tuple[Any, bool]:
        if not isinstance(source, str):
            return source, True
        rendered = templating.render_value(source, scope, undefined=conditions.UNDEFINED)
        warnings.update(dict.fromkeys(rendered.warnings))
        masked.update(rendered.masked)
        if rendered.value is conditions.UNDEFINED:
            return None, False
        return rendered.value, True

    return templating.Rendered(conditions.render(value, operand), list(warnings), masked)


def render_inputs(
    action: ActionType, params: Mapping[str, Any], scope: Mapping[str, Any]
) -> RenderedInputs:
    """Render every input of a step; custom variables first, as the others may use them.

    Raises InputError naming the input whose template is broken or hits a limit.
    """
    result = RenderedInputs()
    for spec in action.inputs:
        if not spec.uses_custom_vars and spec.name in params:
            result.add(spec, params[spec.name], scope)
    with_vars = {**scope, "custom_vars": result.values.get("custom_vars") or {}}
    for spec in action.inputs:
        if spec.uses_custom_vars and spec.name in params:
            result.add(spec, params[spec.name], with_vars)
    return result
