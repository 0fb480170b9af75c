"""JSON and XML actions (Auth0's ``type: "JSON"`` and ``type: "XML"``): build, parse and
write data. They call nobody; the conversions live in :mod:`flows_app.actions.codecs`."""

from collections.abc import Iterator
from typing import Any

from flows_app.actions.base import (
    JSON_TEMPLATE,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)
from flows_app.actions.codecs import CodecError, from_xml, parse_json, stringify, to_xml

ANY_VALUE_HELP = (
    "A JSON object whose string values may use Liquid, or one {{ expression }} "
    "(an earlier step's output, say) typed as it is."
)


def create_json(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    value = inputs.get("object")
    if not isinstance(value, dict):
        raise StepFailed(f"Body must be a JSON object, got {_kind(value)}.")
    return StepOutcome({"result": value})


def parse_json_action(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    value = inputs.get("json")
    if not isinstance(value, str):  # a lone {{ expression }} that is already data
        return StepOutcome({"object": value})
    try:
        return StepOutcome({"object": parse_json(value)})
    except CodecError as exc:
        raise StepFailed(f"JSON string: {exc}", body=value[:2000]) from None


def serialize_json(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    return StepOutcome({"json": stringify(inputs.get("object"))})


def parse_xml(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    value = inputs.get("xml")
    try:
        return StepOutcome({"object": from_xml(value if isinstance(value, str) else "")})
    except CodecError as exc:
        body = value[:2000] if isinstance(value, str) else None
        raise StepFailed(f"XML string: {exc}", body=body) from None


def serialize_xml(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    try:
        return StepOutcome({"xml": to_xml(inputs.get("object"))})
    except CodecError as exc:
        raise StepFailed(f"JSON object: {exc}") from None


def _kind(value: Any) -> str:
    names = {str: "text", list: "a list", bool: "true/false", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def _check_object(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "object" in params and not isinstance(params["object"], dict):
        yield "object", "Must be a JSON object."


def _check_object_or_text(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "object" in params and not isinstance(params["object"], dict | str):
        yield "object", "Must be a JSON object or text."


def _check_text(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name in ("json", "xml"):
        if name in params and not isinstance(params[name], str):
            yield name, "Must be text."


CREATE_JSON = ActionType(
    type="JSON",
    action="CREATE_JSON",
    group="JSON",
    label="Create JSON object",
    description="Build a JSON object from values and earlier steps' outputs.",
    inputs=(
        Input(
            "object",
            "Body",
            kind=JSON_TEMPLATE,
            required=True,
            help="The object; string values may use Liquid at any depth.",
        ),
    ),
    output='{"result": <the object>}: read {{ actions.<id>.result.name }}.',
    output_fields=(OutputField("result", "The object built from the input (an object)."),),
    run=create_json,
    extra={"check": _check_object},
)
PARSE_JSON = ActionType(
    type="JSON",
    action="PARSE_JSON",
    group="JSON",
    label="Parse JSON",
    description="Turn a JSON string into an object that later steps can read.",
    inputs=(
        Input(
            "json",
            "JSON string",
            required=True,
            keeps_type=True,
            help="Text holding JSON, such as {{ actions.call_api.body }}. A lone expression "
            "that is already an object passes through.",
        ),
    ),
    output='{"object": <the parsed value>}: read {{ actions.<id>.object.role }}.',
    output_fields=(OutputField("object", "The parsed value: an object, a list or a value."),),
    run=parse_json_action,
    extra={"check": _check_text},
)
SERIALIZE_JSON = ActionType(
    type="JSON",
    action="SERIALIZE_JSON",
    group="JSON",
    label="Convert JSON to string",
    description="Write a JSON object as compact JSON text.",
    inputs=(
        Input(
            "object",
            "JSON object",
            kind=JSON_TEMPLATE,
            required=True,
            text_allowed=True,
            help=ANY_VALUE_HELP,
        ),
    ),
    output='{"json": "<compact JSON text>"}: {{ actions.<id>.json }}.',
    output_fields=(OutputField("json", "The object as compact JSON text."),),
    run=serialize_json,
    extra={"check": _check_object_or_text},
)
PARSE_XML = ActionType(
    type="XML",
    action="PARSE_XML",
    group="XML",
    label="Convert XML to JSON",
    description="Read an XML document into an object: elements become keys.",
    inputs=(
        Input(
            "xml",
            "XML string",
            required=True,
            help="An XML document, such as {{ actions.soap_call.body }}. DTDs and entities "
            "are refused.",
        ),
    ),
    output='{"object": {<root element>: …}}: <name>John</name> reads as '
    "{{ actions.<id>.object.name }}; attributes are under $, text beside children under _, "
    "repeated elements are lists.",
    output_fields=(
        OutputField(
            "object",
            "The document as an object under its root element's name; attributes under $, "
            "text under _.",
        ),
    ),
    run=parse_xml,
    extra={"check": _check_text},
)
SERIALIZE_XML = ActionType(
    type="XML",
    action="SERIALIZE_XML",
    group="XML",
    label="Convert JSON to XML",
    description="Write a JSON object as an XML document.",
    inputs=(
        Input(
            "object",
            "JSON object",
            kind=JSON_TEMPLATE,
            required=True,
            text_allowed=True,
            help="A single key is the root element (several are wrapped in <root>); lists "
            "repeat their element, $ holds attributes and _ text. " + ANY_VALUE_HELP,
        ),
    ),
    output='{"xml": "<?xml …?>\\n<root>…</root>"}: {{ actions.<id>.xml }}.',
    output_fields=(OutputField("xml", "The object as an XML document (text)."),),
    run=serialize_xml,
    extra={"check": _check_object_or_text},
)

ACTIONS = (CREATE_JSON, PARSE_JSON, SERIALIZE_JSON, PARSE_XML, SERIALIZE_XML)
