"""Live previews of a step's inputs: the same rendering a run uses, on the flow's test data."""

import json
from dataclasses import dataclass, field
from typing import Any

from flows_app import templating
from flows_app.actions.base import HTML_TEMPLATE, RENDERED_KINDS, ActionType
from flows_app.definition import steps_of
from flows_app.inputs import InputError, render_inputs
from flows_app.models import Flow, Run, StepRun

GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass
class InputPreview:
    name: str
    kind: str
    text: str = ""
    error: templating.TemplateProblem | None = None
    sms: dict[str, Any] | None = None


@dataclass
class StepPreview:
    inputs: dict[str, InputPreview] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def scope_for(flow: Flow, step_id: str, test_data: dict | None = None) -> dict[str, Any]:
    """Test data plus the outputs, from the latest test run, of the steps before this one."""
    data = flow.test_data if test_data is None else test_data
    data = data if isinstance(data, dict) else {}
    earlier = []
    for step in steps_of(flow.draft):
        if step.get("id") == step_id:
            break
        earlier.append(step.get("id"))
    return {
        "context": data.get("context") or {},
        "fields": data.get("fields") or {},
        "vars": data.get("vars") or {},
        "actions": latest_outputs(flow, earlier),
    }


def latest_outputs(flow: Flow, step_ids: list) -> dict[str, Any]:
    run = flow.runs.filter(trigger=Run.Trigger.TEST).order_by("-created_at", "-id").first()
    if run is None:
        return {}
    records = run.steps.filter(step_id__in=step_ids, status=StepRun.Status.SUCCEEDED)
    return {record.step_id: record.output for record in records}


def preview_step(action: ActionType, params: dict, scope: dict[str, Any]) -> StepPreview:
    """Render every templated input of a step; an error is shown on its own input."""
    result = StepPreview()
    for spec in action.inputs:
        if spec.kind not in RENDERED_KINDS:
            continue
        try:
            rendered = render_inputs(_only(action, spec.name), _with_vars(params, spec), scope)
        except InputError as exc:
            result.inputs[spec.name] = InputPreview(spec.name, spec.kind, error=exc.error.problem)
            continue
        value = rendered.values.get(spec.name)
        result.inputs[spec.name] = InputPreview(spec.name, spec.kind, text=_text(value, spec.kind))
        result.warnings += [w for w in rendered.warnings if w not in result.warnings]
    _add_sms_counts(action, result)
    return result


def _only(action: ActionType, name: str) -> ActionType:
    """The action with just one input (and custom variables, which it may use)."""
    keep = tuple(s for s in action.inputs if s.name in (name, "custom_vars"))
    return ActionType(
        action.type,
        action.action,
        action.group,
        action.label,
        action.description,
        keep,
        action.output,
        action.run,
    )


def _with_vars(params: dict, spec) -> dict:
    if spec.uses_custom_vars:
        return params
    return {k: v for k, v in params.items() if k == spec.name}


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and kind in ("template", HTML_TEMPLATE):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def _add_sms_counts(action: ActionType, result: StepPreview) -> None:
    message = result.inputs.get("message")
    if action.action == "SEND_SMS" and message and not message.error:
        message.sms = sms_segments(message.text)


def sms_segments(text: str) -> dict[str, Any]:
    """How a text message is sent: its encoding, length in characters and segment count."""
    if all(ch in GSM_7 or ch in GSM_7_EXTENDED for ch in text):
        length = sum(2 if ch in GSM_7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        length = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if length <= single else -(-length // multi)
    return {"length": length, "segments": segments, "encoding": encoding}
