"""Check what a Management API request may carry before anything is sent.

Requests are always ``base_url(connection) + path``; :func:`api_path` refuses any path that
is not a plain absolute path under ``/api/v2/``. URL Params go through httpx's query
encoding (``None`` omits a parameter, a list repeats it); user headers may not set
``Authorization``, ``Host`` or the message framing. Every check raises
:class:`InvalidRequest` (a ValueError) with a sentence a user can act on.
"""

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

API_PREFIX = "/api/v2/"
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"})
MAX_PATH_LENGTH = 2048

# Characters a path may carry as they are (RFC 3986 pchar, "/" and the "%" of escapes).
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED_HEADERS = {
    "authorization": "Sluice sets Authorization from the connection's token",
    "proxy-authorization": "Sluice does not send proxy credentials",
    "host": "requests always go to the connection's own tenant",
    "content-length": "Sluice's HTTP client sets the message framing",
    "transfer-encoding": "Sluice's HTTP client sets the message framing",
    "connection": "Sluice's HTTP client manages the connection",
}


class InvalidRequest(ValueError):
    """A request Sluice refuses to send; the message says what to change."""


def api_path(path: str) -> str:
    """Return ``path`` if it is a plain absolute path under /api/v2/, else raise InvalidRequest.

    Refused: a scheme or host, ``//``, ``.`` or ``..`` segments (also percent-encoded,
    full-width or before a ``;``), encoded ``/``, ``\\`` or ``%`` (double encoding),
    backslashes, whitespace and control characters (also encoded), invalid UTF-8 escapes,
    a query string or fragment, and characters that must be percent-encoded.
    """
    if not isinstance(path, str) or not path:
        raise InvalidRequest("Enter the API path, such as /api/v2/organizations.")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidRequest(f"The path is longer than {MAX_PATH_LENGTH} characters.")
    if "?" in path or "#" in path:
        raise InvalidRequest(
            "The path may not carry a query string or fragment: put query parameters in URL Params."
        )
    _check_path_characters(path)
    if not path.startswith(API_PREFIX):
        if "://" in path or path.startswith("//"):
            raise InvalidRequest(
                "Enter a path on the connection's own tenant, such as /api/v2/organizations, "
                "not a URL or another host."
            )
        raise InvalidRequest(
            "The path must be an absolute path under /api/v2/, such as /api/v2/organizations."
        )
    if "//" in path:
        raise InvalidRequest("The path may not contain an empty segment (//).")
    if _BAD_ESCAPE.search(path):
        raise InvalidRequest("The path has a % that does not start a percent-encoded character.")
    for segment in path.split("/")[1:]:
        _check_segment(segment)
    return path


def check_path_parts(parts: Sequence[str | None]) -> None:
    """Raise InvalidRequest if a path made of ``parts`` is refused whatever fills its gaps.

    ``parts`` is the path's text, with None where a template will put a value. A path
    without gaps goes through :func:`api_path`; with gaps, only what the text alone
    decides counts, by api_path's own rules: the start must lead to /api/v2/, and no text
    may hold a query, a fragment, ``//``, a refused character, or a whole segment that
    api_path refuses. Whatever fills the gaps is checked when the request is sent.
    """
    if None not in parts:
        api_path("".join(part or "" for part in parts))
        return
    texts = [part for part in parts if part is not None]
    start = parts[0] or ""
    if not (API_PREFIX.startswith(start) or start.startswith(API_PREFIX)):
        api_path(start)  # raises: it is not under /api/v2/, whatever follows
    for text in texts:
        if "?" in text or "#" in text or "//" in text:
            api_path(f"{API_PREFIX}{text}")  # raises what api_path says of them
        _check_path_characters(text)
    segments = "".join(part if part is not None else _GAP for part in parts).split("/")
    for segment in segments[1:]:
        if _GAP not in segment:  # a whole segment of text, whatever the values
            _check_segment(segment)


_GAP = "\x00"  # stands for a template's value; no path text can hold it


def _check_path_characters(path: str) -> None:
    if _PATH_CHARS.fullmatch(path):
        return
    bad = next(ch for ch in path if not _PATH_CHARS.fullmatch(ch))
    if bad == "\\":
        raise InvalidRequest("The path may not contain a backslash.")
    if bad.isspace() or unicodedata.category(bad) in ("Cc", "Cf"):
        raise InvalidRequest("The path may not contain whitespace or control characters.")
    raise InvalidRequest(
        f"The path contains {bad!r}, which must be percent-encoded: wrap values in "
        "{{ functions.encodeURIComponent(...) }}."
    )


def _check_segment(segment: str) -> None:
    try:
        decoded = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise InvalidRequest("The path has percent-escapes that are not valid UTF-8.") from None
    folded = unicodedata.normalize("NFKC", decoded)
    if _is_dot_segment(folded):
        raise InvalidRequest("The path may not contain . or .. segments, encoded or not.")
    if "/" in folded or "\\" in folded:
        raise InvalidRequest("The path may not contain an encoded / or \\ (%2F, %5C).")
    if "%" in decoded:
        raise InvalidRequest("The path may not contain an encoded % (%25): no double encoding.")
    if _has_control_characters(decoded):
        raise InvalidRequest("The path may not contain encoded control characters.")


def _is_dot_segment(segment: str) -> bool:
    return segment.split(";")[0] in (".", "..")


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def user_path(user_id: str) -> str:
    """Return /api/v2/users/{id} with every character but RFC 3986's unreserved encoded."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidRequest("Enter the user ID, such as auth0|64b0c5e2f1a2b3c4d5e6f7a8.")
    if len(user_id) > 1024 or _has_control_characters(user_id):
        raise InvalidRequest("The user ID is too long or contains control characters.")
    parts = re.split(r"[/\\]", unicodedata.normalize("NFKC", user_id))
    if any(_is_dot_segment(part) for part in parts):
        raise InvalidRequest("The user ID may not be or contain . or .. path segments.")
    return f"{API_PREFIX}users/{quote(user_id, safe='')}"


def _text(value: Any, what: str, *, objects: bool = False) -> str:
    """Render a parameter or header value the way JavaScript would show it.

    With ``objects``, an object or array is sent as JSON, as templates write it in text.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    if objects and isinstance(value, dict | list):
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            pass  # not JSON (NaN, or nesting too deep to write): refused below
    raise InvalidRequest(f"{what} must be text or a number, not {type(value).__name__}.")


def query_params(params: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...] | None:
    """Turn URL Params into query pairs: None omits a parameter, a list repeats it."""
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise InvalidRequest("URL Params must be name/value pairs.")
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if not isinstance(name, str) or not name:
            raise InvalidRequest("Every URL Param needs a name.")
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                pairs.append((name, _text(item, f"URL Param {name!r}")))
    return tuple(pairs)


def request_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Check user headers: no Authorization, Host or framing; no control characters."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidRequest("Headers must be name/value pairs.")
    checked = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidRequest(f"{str(name)[:60]!r} is not a valid header name.")
        if name.lower() in _RESERVED_HEADERS:
            raise InvalidRequest(
                f"The {name} header may not be set: {_RESERVED_HEADERS[name.lower()]}."
            )
        if value is None:
            continue
        text = _text(value, f"The {name} header", objects=True)
        if not text.isascii() or any(unicodedata.category(ch) == "Cc" for ch in text if ch != "\t"):
            raise InvalidRequest(f"The {name} header may hold only printable ASCII characters.")
        checked[name] = text
    return checked


def request_method(method: str) -> str:
    """Return the method in capitals if Sluice sends it, else raise InvalidRequest."""
    verb = method.upper() if isinstance(method, str) else ""
    if verb not in METHODS:
        raise InvalidRequest(f"Choose one of GET, POST, PUT, PATCH or DELETE, not {str(method)!r}.")
    return verb


def json_object(body: Any, what: str) -> dict:
    """Return ``body`` if it is a JSON object, else raise InvalidRequest naming ``what``."""
    if not isinstance(body, dict):
        raise InvalidRequest(f"The body of {what} must be a JSON object.")
    return body
