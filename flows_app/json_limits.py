"""How deep JSON from outside may nest, checked without recursion before anything walks it.

Rendering, redacting, validating and copying JSON all recurse, so JSON nested thousands
deep would end in a RecursionError, far from where it came in. Every way in (the HTTP API,
the Run form, the editor's test data and JSON inputs, imports) parses with :func:`loads`
and refuses what nests deeper than :data:`JSON_DEPTH_LIMIT` with a sentence, not a 500.
"""

import json
from collections.abc import Iterable
from typing import Any

JSON_DEPTH_LIMIT = 32
"""Objects and lists inside each other: in a run's input, test data or one step's input."""
NUL_MESSAGE = "Text in it cannot contain NUL characters (\\u0000)."


class TooDeep(ValueError):
    """JSON that nests deeper than Sluice accepts."""

    def __init__(self, what: str, limit: int | None = JSON_DEPTH_LIMIT):
        how = f"more than {limit} deep" if limit else "too deep to read"
        super().__init__(f"{what} nests objects and lists {how}.")


def depth_exceeds(value: Any, limit: int = JSON_DEPTH_LIMIT) -> bool:
    """Whether objects and lists nest more than ``limit`` deep in ``value`` (a scalar is 0)."""
    pending = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth >= limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def has_nul(value: Any) -> bool:
    """Whether a NUL is in any string or key: PostgreSQL cannot store one in JSON."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list | tuple):
            pending.extend(node)
    return False


def loads(text: str | bytes, what: str, limit: int | None = JSON_DEPTH_LIMIT, **options) -> Any:
    """Parse JSON like ``json.loads``; raise TooDeep, never RecursionError, for deep JSON.

    ``limit=None`` only guards the parser (for flow documents, whose steps
    :func:`flows_app.definition.nesting_problems` checks one by one).
    """
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise TooDeep(what, limit) from None
    if limit is not None and depth_exceeds(value, limit):
        raise TooDeep(what, limit)
    return value
