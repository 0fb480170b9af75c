"""JSON and XML as the JSON, XML and HTTP actions write and read them.

JSON is written as JavaScript's ``JSON.stringify`` writes it (compact, non-ASCII kept, ``2``
not ``2.0``, NaN and Infinity as ``null``). XML follows the conventions of the Node library
xml2js, whose defaults Auth0's examples match: a single top-level key is the root element
(several are wrapped in ``<root>``), a list repeats its element, ``$`` holds attributes and
``_`` text; parsing gives the same shapes back, text as strings. XML is parsed with
defusedxml: a DTD, and with it any entity (external or an expansion bomb), is refused.
"""

import json
import math
import re
from decimal import Decimal
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.saxutils import escape

import defusedxml.sax
from defusedxml import DefusedXmlException

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
ATTRIBUTES, TEXT = "$", "_"
DEPTH_LIMIT = 100  # elements inside elements, either way
XML_NAME = re.compile(r"^[A-Za-z_][\w.\-]*(:[A-Za-z_][\w.\-]*)?$")


class CodecError(ValueError):
    """The value cannot be written or read; the message says where and why."""


# JSON --------------------------------------------------------------------------------------


def js_number(value: float) -> str:
    """A number as JavaScript shows it: ``2`` for 2.0, ``0.00001``, ``1e+21``."""
    if not math.isfinite(value):
        return "null"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    exponent = int(text.split("e")[1])
    if -7 < exponent < 21:
        return format(Decimal(text), "f")
    mantissa, _, power = text.partition("e")
    return f"{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def stringify(value: Any) -> str:
    """``JSON.stringify(value)``: compact, non-ASCII kept, numbers in JavaScript's form."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{stringify(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(stringify(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def js_text(value: Any) -> str:
    """A value as text for a header, a parameter or XML: text as it is, numbers in
    JavaScript's form, true/false, null, objects and lists as JSON."""
    return value if isinstance(value, str) else stringify(value)


def parse_json(text: str) -> Any:
    """Parse JSON text; raise CodecError saying where it is broken."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodecError(
            f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:
        raise CodecError("The JSON nests too deeply.") from None


# XML out -----------------------------------------------------------------------------------


def to_xml(value: Any) -> str:
    """The XML document for a JSON value: the declaration, then the root element."""
    if isinstance(value, list):
        raise CodecError('A list has no single root element: wrap it in an object, {"items": …}.')
    single = isinstance(value, dict) and len(value) == 1
    name, content = next(iter(value.items())) if single else ("root", value)
    if str(name) in (ATTRIBUTES, TEXT) or isinstance(content, list):
        name, content = "root", value  # one element must be the root: wrap it
    return DECLARATION + "\n" + "\n".join(_element(str(name), content, 0, 0))


def _element(name: str, value: Any, indent: int, depth: int) -> list[str]:
    if depth > DEPTH_LIMIT:
        raise CodecError(f"The value nests deeper than {DEPTH_LIMIT} elements.")
    if not XML_NAME.match(name):
        raise CodecError(f"{name!r} cannot be an XML element name.")
    pad = "  " * indent
    if isinstance(value, list):
        return [line for item in value for line in _element(name, item, indent, depth + 1)]
    if not isinstance(value, dict):
        text = "" if value is None else _text(value)
        return [f"{pad}<{name}>{escape(text)}</{name}>" if text else f"{pad}<{name}/>"]
    opening = name + _attributes(value.get(ATTRIBUTES))
    children = [(str(k), v) for k, v in value.items() if k not in (ATTRIBUTES, TEXT)]
    text = "" if value.get(TEXT) is None else _text(value[TEXT])
    if not children:
        return [f"{pad}<{opening}>{escape(text)}</{name}>" if text else f"{pad}<{opening}/>"]
    lines = [f"{pad}<{opening}>"]
    if text:
        lines.append(f"{pad}  {escape(text)}")
    for child, content in children:
        lines += _element(child, content, indent + 1, depth + 1)
    return [*lines, f"{pad}</{name}>"]


def _attributes(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, dict):
        raise CodecError("Attributes ($) must be an object of names and values.")
    parts = []
    for name, item in value.items():
        if not XML_NAME.match(str(name)):
            raise CodecError(f"{name!r} cannot be an XML attribute name.")
        text = "" if item is None else _text(item)
        parts.append(f' {name}="{escape(text, {chr(34): "&quot;"})}"')
    return "".join(parts)


def _text(value: Any) -> str:
    text = js_text(value)
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise CodecError("XML cannot hold control characters.")
    return text


# XML in ------------------------------------------------------------------------------------


class _Builder(ContentHandler):
    """Build the xml2js-shaped value while the parser reads, without recursion."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.result: dict[str, Any] | None = None

    def startElement(self, name, attrs):  # noqa: N802  (SAX's name)
        if len(self.stack) >= DEPTH_LIMIT:
            raise CodecError(f"The XML nests deeper than {DEPTH_LIMIT} elements.")
        node: dict[str, Any] = {}
        if attrs.getLength():
            node[ATTRIBUTES] = {key: attrs.getValue(key) for key in attrs.getNames()}
        self.stack.append((name, node, []))

    def characters(self, content):
        if self.stack:
            self.stack[-1][2].append(content)

    def endElement(self, name):  # noqa: N802
        tag, node, texts = self.stack.pop()
        value = _shape(node, "".join(texts))
        if not self.stack:
            self.result = {tag: value}
            return
        siblings = self.stack[-1][1]
        if tag in siblings and tag != ATTRIBUTES:
            earlier = siblings[tag]
            siblings[tag] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            siblings[tag] = value


def _shape(node: dict[str, Any], text: str) -> Any:
    children = [key for key in node if key != ATTRIBUTES]
    if not node:
        return text
    if not children:
        return {**node, TEXT: text} if text.strip() else node
    if text.strip():
        node[TEXT] = text.strip()
    return node


def from_xml(text: str) -> dict[str, Any]:
    """Parse an XML document into ``{root name: content}``; raise CodecError when it is
    malformed or has a DTD (and so, possibly, entities)."""
    if not isinstance(text, str) or not text.strip():
        raise CodecError("There is no XML to read.")
    builder = _Builder()
    try:
        defusedxml.sax.parseString(
            text.strip().encode(), builder, forbid_dtd=True, forbid_entities=True
        )
    except DefusedXmlException:
        raise CodecError(
            "The XML declares a DTD or entities, which Sluice refuses (they can read files "
            "or expand without end)."
        ) from None
    except SAXParseException as exc:
        raise CodecError(
            f"This is not well-formed XML: {exc.getMessage()} (line {exc.getLineNumber()}, "
            f"column {(exc.getColumnNumber() or 0) + 1})."
        ) from None
    if builder.result is None:  # pragma: no cover  (the parser insists on a root)
        raise CodecError("The XML has no root element.")
    return builder.result
