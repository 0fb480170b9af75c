"""The ``functions.*`` helpers of Auth0 Flows, with JavaScript's semantics.

Every helper takes and returns plain JSON values, under the name, arguments and results
Auth0 documents. Where Python and JavaScript differ the JavaScript answer wins, except
where it would put "undefined", NaN or a crash into a rendered value:

- ``null`` and undefined both arrive as ``None``. A helper that needs a string or an
  array answers ``None`` for it instead of throwing JavaScript's TypeError, so a missing
  variable renders as empty (with its "is undefined" warning) rather than failing a run.
- NaN and ±Infinity, which JSON cannot carry, come back as ``None``.
- Strings are counted and indexed in Unicode code points, not UTF-16 units: an emoji is
  one character here and two in JavaScript.
- ``toString`` writes objects and arrays as compact JSON rather than "[object Object]"
  and "a,b", and ``null`` as "".
- ``replace``/``replaceAll`` take the pattern and the replacement as plain text: there
  are no regular expressions and no ``$&`` patterns in a template.
"""

import hashlib
import json
import math
import random as _random
import re
import time
import uuid as _uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

MAX_RESULT_LENGTH = 1_000_000
"""Longest string a helper may build (characters), so one call cannot exhaust memory."""

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RADIX_NUMBER = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_RADIXES = {"x": 16, "o": 8, "b": 2}
_LARGEST_EXACT_INTEGER = 2**53
_SYSTEM_RANDOM = _random.SystemRandom()


def to_array(value: Any) -> list[Any]:
    """Return an array as is, null as [], and any other value wrapped in an array."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple | range):
        return list(value)
    return [value]


def to_boolean(value: Any) -> bool:
    """Return true or false: 1, "1" and "true" are true; 0, "0", "false" and "" are false.

    Other values follow JavaScript's truthiness (objects and arrays are true, even empty).
    """
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "")
    if isinstance(value, dict | list):
        return True
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def length(value: Any) -> int | None:
    """Return the number of characters of a string, items of an array or keys of an object.

    null counts as 0; other values have no length (null).
    """
    if value is None:
        return 0
    if isinstance(value, str | list | dict | tuple):
        return len(value)
    return None


def mask(value: Any) -> Any:
    """Return the value unchanged; Sluice hides it wherever it records a run."""
    return value


def to_number(value: Any) -> int | float | None:
    """Convert like JavaScript's Number(): "" → 0, " 12.5 " → 12.5, "0x1A" → 26, true → 1.

    What JavaScript turns into NaN ("abc", objects, null or undefined) is null here, as is
    ±Infinity. Whole numbers come back as integers.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return _json_number(value)
    if isinstance(value, str):
        return _parse_number(value.strip())
    return None


def _parse_number(text: str) -> int | float | None:
    if not text:
        return 0
    if _DECIMAL.fullmatch(text):
        return _json_number(float(text))
    if _RADIX_NUMBER.fullmatch(text):
        return int(text[2:], _RADIXES[text[1].lower()])
    return None


def _json_number(number: int | float) -> int | float | None:
    if isinstance(number, int):
        return number
    if not math.isfinite(number):
        return None
    if number.is_integer() and abs(number) <= _LARGEST_EXACT_INTEGER:
        return int(number)
    return number


def random_number(minimum: Any, maximum: Any, floating: Any = False) -> int | float | None:
    """Return a random number from minimum to maximum, both included.

    A whole number unless floating is true; null when a bound is not a number.
    """
    low, high = to_number(minimum), to_number(maximum)
    if low is None or high is None:
        return None
    low, high = sorted((low, high))
    if to_boolean(floating):
        return _SYSTEM_RANDOM.uniform(low, high)
    if math.ceil(low) > math.floor(high):
        raise ValueError(f"there is no whole number between {minimum} and {maximum}")
    return _SYSTEM_RANDOM.randint(math.ceil(low), math.floor(high))


def slice_(value: Any, start: Any, end: Any = None) -> str | list[Any] | None:
    """Return part of a string or array, like JavaScript's slice().

    Negative indexes count from the end; an end before the start gives an empty result.
    """
    if value is None:
        return None
    if not isinstance(value, str | list):
        raise TypeError(f"expected a string or an array, got {_type_name(value)}")
    return value[_index(start, 0) : _index(end, len(value))]


def substring(value: Any, start: Any, end: Any = None) -> str | None:
    """Return part of a string, like JavaScript's substring().

    Negative indexes count as 0, and an end before the start swaps the two.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_type_name(value)}")
    first = min(max(_index(start, 0), 0), len(value))
    last = min(max(_index(end, len(value)), 0), len(value))
    return value[min(first, last) : max(first, last)]


def _index(value: Any, default: int) -> int:
    """Read an index the way JavaScript does: truncated, with NaN as 0."""
    if value is None:
        return default
    number = to_number(value)
    return 0 if number is None else math.trunc(number)


def to_string(value: Any) -> str:
    """Return the text form of a value: objects and arrays as JSON, null as ""."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


def _float_text(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)


def to_timestamp(date: Any = "now") -> int | None:
    """Return UNIX seconds: of now without an argument, else of the date given.

    A date is ISO 8601 text (without an offset it counts as UTC), RFC 2822 text, or a
    number of milliseconds as JavaScript's Date takes it. null when it is not a date.
    """
    if date == "now":
        return int(time.time())
    moment = _parse_date(date)
    return None if moment is None else math.floor(moment.timestamp())


def _parse_date(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replace(value: Any, pattern: Any, replacement: Any) -> str | None:
    """Replace the first occurrence of pattern in the text."""
    if value is None:
        return None
    return _replaced(to_string(value), to_string(pattern), to_string(replacement), 1)


def replace_all(value: Any, pattern: Any, replacement: Any) -> str | None:
    """Replace every occurrence of pattern in the text."""
    if value is None:
        return None
    return _replaced(to_string(value), to_string(pattern), to_string(replacement), -1)


def _replaced(text: str, pattern: str, replacement: str, count: int) -> str:
    check_replacement_size(text, pattern, replacement, count)
    return text.replace(pattern, replacement, count)


def check_replacement_size(text: str, pattern: str, replacement: str, count: int = -1) -> None:
    """Raise ValueError before a replacement would build a string over MAX_RESULT_LENGTH.

    An empty pattern matches between every two characters, so replacing it grows a text
    quadratically; this is the one string operation that can.
    """
    matches = len(text) + 1 if not pattern else text.count(pattern)
    if count >= 0:
        matches = min(matches, count)
    size = len(text) + matches * (len(replacement) - len(pattern))
    if size > MAX_RESULT_LENGTH:
        raise ValueError(
            f"the result would be {size} characters long (at most {MAX_RESULT_LENGTH})"
        )


def split(value: Any, separator: Any = None, limit: Any = None) -> list[str] | None:
    """Split text at every separator, like JavaScript's split().

    An empty separator splits into characters; limit keeps only the first pieces.
    """
    if value is None:
        return None
    text = to_string(value)
    if separator is None:
        pieces = [text]
    else:
        mark = to_string(separator)
        pieces = list(text) if mark == "" else text.split(mark)
    return pieces if limit is None else pieces[: _index(limit, 0) % 2**32]


def now() -> str:
    """Return the current time as ISO 8601 with milliseconds and Z: 2026-11-25T02:47:11.755Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def includes(collection: Any, item: Any, from_index: Any = 0) -> bool:
    """Return whether a string contains a text, or an array an item (strict equality).

    fromIndex is where the search starts; negative counts from the end of an array.
    """
    return index_of(collection, item, from_index) != -1


def index_of(collection: Any, item: Any, from_index: Any = 0) -> int:
    """Return where a text first occurs in a string, or an item in an array; -1 if nowhere.

    Items compare with JavaScript's strict equality: 1 is not "1" and true is not 1.
    """
    start = _index(from_index, 0)
    if collection is None:
        return -1
    if isinstance(collection, str):
        return collection.find(to_string(item), min(max(start, 0), len(collection)))
    if isinstance(collection, list | tuple):
        return _array_index(list(collection), item, start)
    raise TypeError(f"expected a string or an array, got {_type_name(collection)}")


def _array_index(items: list[Any], item: Any, start: int) -> int:
    if start < 0:
        start = max(len(items) + start, 0)
    for position in range(start, len(items)):
        if _strictly_equal(items[position], item):
            return position
    return -1


def _strictly_equal(left: Any, right: Any) -> bool:
    # bool comes first because Python, unlike JavaScript, has True == 1.
    for kind in (bool, int | float, str):
        if isinstance(left, kind) or isinstance(right, kind):
            return isinstance(left, kind) and isinstance(right, kind) and left == right
    return bool(left == right)


def merge(base: Any, value: Any) -> Any:
    """Merge two values: arrays concatenate, objects merge (value's keys win), texts join."""
    if base is None:
        return value
    if isinstance(base, list):
        return base + (value if isinstance(value, list) else [value])
    if isinstance(base, dict) and isinstance(value, dict | None):
        return {**base, **(value or {})}
    if isinstance(base, str):
        return base + to_string(value)
    raise TypeError(f"cannot merge {_type_name(value)} into {_type_name(base)}")


def md5(value: Any) -> str | None:
    """Return the MD5 digest of the text, in hex."""
    return _hex_digest("md5", value)


def sha1(value: Any) -> str | None:
    """Return the SHA-1 digest of the text, in hex."""
    return _hex_digest("sha1", value)


def sha256(value: Any) -> str | None:
    """Return the SHA-256 digest of the text, in hex."""
    return _hex_digest("sha256", value)


def sha512(value: Any) -> str | None:
    """Return the SHA-512 digest of the text, in hex."""
    return _hex_digest("sha512", value)


def _hex_digest(algorithm: str, value: Any) -> str | None:
    if value is None:
        return None
    data = to_string(value).encode()
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()


def uuid() -> str:
    """Return a random (version 4) UUID."""
    return str(_uuid.uuid4())


def encode_uri_component(value: Any) -> str | None:
    """Percent-encode text for a URL part, keeping only A-Z a-z 0-9 - _ . ! ~ * ' ( )."""
    if value is None:
        return None
    return quote(to_string(value), safe="!~*'()")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return "a string" if isinstance(value, str) else type(value).__name__


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "toArray": to_array,
    "toBoolean": to_boolean,
    "length": length,
    "mask": mask,
    "toNumber": to_number,
    "random": random_number,
    "slice": slice_,
    "substring": substring,
    "toString": to_string,
    "toTimestamp": to_timestamp,
    "replace": replace,
    "replaceAll": replace_all,
    "split": split,
    "now": now,
    "includes": includes,
    "indexOf": index_of,
    "merge": merge,
    "md5": md5,
    "sha1": sha1,
    "sha256": sha256,
    "sha512": sha512,
    "uuid": uuid,
    "encodeURIComponent": encode_uri_component,
}
"""The helpers by the name a template calls them with: ``functions.<name>(...)``."""
