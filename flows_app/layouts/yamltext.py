"""``tenant.yaml``: read safely with PyYAML, written as Auth0's deploy CLI writes it (js-yaml).

Reading: before anything is built, the event stream is checked for what a hostile file
would use: tags of any kind (``!!python/object``, ``!Ref``), nesting deeper than
``DEPTH_LIMIT``, and anchors whose aliases expand past ``EXPANSION_LIMIT`` nodes (a
"billion laughs"). Only then does PyYAML's safe loader build the document.

Writing: ``js-yaml``'s ``dump`` with its defaults, for the deploy CLI's shape of these two
sections: two-space indents, sequences indented under their key, strings plain when js-yaml
finds them unambiguous, else in single quotes (double quotes for characters that need
escapes), and strings longer than the line folded (``>-``) at spaces as js-yaml folds them.
"""

import re

import yaml

SECTIONS = ("flows", "flowVaultConnections")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEPTH_LIMIT = 50
EXPANSION_LIMIT = 1_000_000
LINE_WIDTH = 80
FIELD = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
INDENT = 2


class YamlRefused(Exception):
    """The text is not YAML Sluice will read; the message says why, in the reader's words."""


# --- Reading ---------------------------------------------------------------------------------


def load(text: str, source: str) -> object:
    """The document in ``text``, after the checks above; raises YamlRefused."""
    try:
        _check_events(text, source)
        return yaml.load(text, Loader=LOADER)  # noqa: S506 (a safe loader; see LOADER)
    except yaml.YAMLError as exc:
        raise YamlRefused(f"{source} is not valid YAML: {_reason(exc)}") from None


def _check_events(text: str, source: str) -> None:
    stack: list[list] = []  # [anchor, expanded size] of each open collection
    sizes: dict[str, int] = {}
    total = 0
    for event in yaml.parse(text, Loader=LOADER):
        explicit = getattr(event, "tag", None)
        if explicit is not None:
            tag = explicit.replace("tag:yaml.org,2002:", "!!")
            raise YamlRefused(
                f"{source}{_where(event)} uses the YAML tag {tag}: Sluice reads plain YAML only."
            )
        size = 0
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) > DEPTH_LIMIT:
                raise YamlRefused(f"{source}{_where(event)} is nested deeper than {DEPTH_LIMIT}.")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor or "", 1)
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            stack[-1][1] += size
        total += 0 if stack else size
        if size > EXPANSION_LIMIT or total > EXPANSION_LIMIT:
            raise YamlRefused(
                f"{source}: its anchors and aliases expand to more than {EXPANSION_LIMIT:,} "
                "values; Sluice does not read it."
            )


def _where(event) -> str:
    mark = getattr(event, "start_mark", None)
    return f", line {mark.line + 1}," if mark is not None else ""


def _reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# --- Writing ---------------------------------------------------------------------------------


def dump(sections: dict[str, list[dict]]) -> str:
    """The text js-yaml's ``dump`` gives for top-level sections of lists of flat maps."""
    return "\n".join(section(key, items) for key, items in sections.items()) + "\n"


def section(key: str, items: list[dict]) -> str:
    """A section of entries, each ``name`` first and its other keys sorted, as the deploy CLI
    writes them; values are strings, numbers, booleans or null."""
    if not items:
        return f"{key}: []"
    lines = [f"{key}:"]
    for item in items:
        if not all(isinstance(k, str) and FIELD.match(k) for k in item):
            raise YamlRefused(f"an entry of {key} has keys Sluice does not rewrite.")
        fields = ["name", *sorted(k for k in item if k != "name")]
        for index, field in enumerate(f for f in fields if f in item):
            value = _value(item[field], f"{key} {item.get('name')!r}")
            lines.append(f"{'  - ' if index == 0 else '    '}{field}: {value}")
    return "\n".join(lines)


def _value(value: object, where: str) -> str:
    if isinstance(value, str) and "\n" not in value:
        return scalar(value, level=3)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    raise YamlRefused(f"{where} holds a {type(value).__name__}, which Sluice does not rewrite.")


def merge(existing: str, sections: dict[str, list[dict]]) -> str:
    """``existing`` with these top-level sections replaced (or added at the end) and every
    other line kept byte for byte; raises YamlRefused when its layout does not allow it."""
    root = yaml.compose(existing, Loader=LOADER)
    if root is None:
        return dump(sections)
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise YamlRefused("tenant.yaml is not a block mapping of sections.")
    keys = [(key.value, key.start_mark) for key, _ in root.value]
    if any(mark.column != 0 for _, mark in keys):
        raise YamlRefused("tenant.yaml has sections that do not start at the line's beginning.")
    lines = existing.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for key in reversed([k for k in sections if k in {name for name, _ in keys}]):
        start, end = _span(key, keys, lines)
        lines[start:end] = [section(key, sections[key]) + "\n"]
    for key in [k for k in sections if k not in {name for name, _ in keys}]:
        lines.append(section(key, sections[key]) + "\n")
    return "".join(lines)


def _span(key: str, keys: list, lines: list[str]) -> tuple[int, int]:
    """The lines a top-level section takes, leaving out blank lines and comments after it."""
    found = [index for index, (name, _) in enumerate(keys) if name == key]
    if len(found) != 1:
        raise YamlRefused(f"tenant.yaml has the section {key} more than once.")
    start = keys[found[0]][1].line
    after = keys[found[0] + 1][1].line if found[0] + 1 < len(keys) else len(lines)
    end = after
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return start, end


# js-yaml's choice of style, for a string written as a value at ``level``.
DEPRECATED_BOOLEANS = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}
DEPRECATED_BOOLEANS |= {"n", "N", "no", "No", "NO", "off", "Off", "OFF"}
BASE60 = re.compile(r"\A[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?\Z")
AMBIGUOUS = (
    re.compile(r"\A(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|<<)\Z"),
    re.compile(r"\A[-+]?(?:0b[01]+|0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)\Z"),
    re.compile(
        r"\A(?:[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
    ),
    re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    re.compile(
        r"\A[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}"
        r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9]{2})?))?\Z"
    ),
)
NOT_PLAIN_FIRST = set("-?:,[]{}#&*!|=>'\"%@`")
ESCAPES = {0x00: "\\0", 0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v"}
ESCAPES |= {0x0C: "\\f", 0x0D: "\\r", 0x1B: "\\e", 0x22: '\\"', 0x5C: "\\\\", 0x85: "\\N"}
ESCAPES |= {0xA0: "\\_", 0x2028: "\\L", 0x2029: "\\P"}


def scalar(text: str, *, level: int) -> str:
    """A one-line string as js-yaml writes it as a block mapping's value at ``level``."""
    if "\n" in text:
        raise ValueError("multi-line strings are not written here")
    if not text:
        return "''"
    if text in DEPRECATED_BOOLEANS or BASE60.match(text):
        return f"'{text}'"
    indent = INDENT * max(1, level)
    width = max(min(LINE_WIDTH, 40), LINE_WIDTH - indent)
    if not all(_printable(ord(ch)) or ch in "\t\r" for ch in text):
        return '"' + "".join(_escaped(ch) for ch in text) + '"'
    units = _utf16(text)
    if len(units) > width and text[0] != " ":
        return (
            ">-\n"
            + " " * indent
            + _from_utf16(_fold(units, width)).replace("\n", "\n" + " " * indent)
        )
    if _plain(text) and not any(pattern.match(text) for pattern in AMBIGUOUS):
        return text
    return "'" + text.replace("'", "''") + "'"


def _printable(c: int) -> bool:
    return (
        0x20 <= c <= 0x7E
        or (0xA1 <= c <= 0xD7FF and c not in (0x2028, 0x2029))
        or (0xE000 <= c <= 0xFFFD and c != 0xFEFF)
        or 0x10000 <= c <= 0x10FFFF
    )


def _plain(text: str) -> bool:
    first, last = text[0], text[-1]
    if not _printable(ord(first)) or first in " \t" or first in NOT_PLAIN_FIRST:
        return False
    if last in " \t:":
        return False
    previous: str | None = None
    for ch in text:
        if not _plain_safe(ch, previous):
            return False
        previous = ch
    return True


def _plain_safe(ch: str, previous: str | None) -> bool:
    """js-yaml's ``isPlainSafe`` inside a block: no ``: `` and no `` #``."""
    ns_or_white = _printable(ord(ch)) and ch != "\ufeff"
    ns_char = ns_or_white and ch not in " \t"
    previous_ns = previous is not None and _printable(ord(previous)) and previous not in " \t"
    return (
        (ns_or_white and ch != "#" and not (previous == ":" and not ns_char))
        or (previous_ns and ch == "#")
        or (previous == ":" and ns_char)
    )


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code in ESCAPES:
        return ESCAPES[code]
    if _printable(code):
        return ch
    handle, width = ("x", 2) if code <= 0xFF else ("u", 4) if code <= 0xFFFF else ("U", 8)
    return f"\\{handle}{code:0{width}X}"


def _utf16(text: str) -> str:
    """The string as JavaScript sees it: one character per UTF-16 code unit."""
    raw = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(raw[i : i + 2], "little")) for i in range(0, len(raw), 2))


def _from_utf16(units: str) -> str:
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _fold(line: str, width: int) -> str:
    """js-yaml's ``foldLine``: greedy breaks at single spaces, within ``width`` if it can."""
    start = current = 0
    result = ""
    for match in re.finditer(r" [^ ]", line):
        following = match.start()
        if following - start > width:
            end = current if current > start else following
            result += "\n" + line[start:end]
            start = end + 1
        current = following
    result += "\n"
    if len(line) - start > width and current > start:
        result += line[start:current] + "\n" + line[current + 1 :]
    else:
        result += line[start:]
    return result[1:]
