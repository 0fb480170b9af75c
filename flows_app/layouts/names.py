"""File names as Auth0's deploy CLI makes them from flow and connection names.

The deploy CLI passes names through the ``sanitize-filename`` npm package with ``-`` as the
replacement: characters no file system takes (``/ ? < > \\ : * | "``) and control characters
become ``-``, a name made only of dots or a Windows device name (``CON``, ``lpt1.json``…) is
replaced whole, trailing dots and spaces are replaced, and the result is cut to 255 UTF-8
bytes. The same is done again with an empty replacement. The directory layout sanitises
``<name>.json``; the YAML layout sanitises ``<name>`` and adds ``.json`` afterwards, so the two
can differ (``"Final."`` is ``Final..json`` in one and ``Final-.json`` in the other).
"""

import re

ILLEGAL = re.compile(r'[/?<>\\:*|"]')
CONTROL = re.compile(r"[\x00-\x1f\x80-\x9f]")
RESERVED = re.compile(r"\A\.+\Z")
# JavaScript's "." stops at line terminators, which Python's does not all do.
WINDOWS_RESERVED = re.compile(
    r"\A(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.[^\n\r\u2028\u2029]*)?\Z", re.IGNORECASE
)
WINDOWS_TRAILING = re.compile(r"[. ]+\Z")
BYTE_LIMIT = 255


def _pass(name: str, replacement: str) -> str:
    name = ILLEGAL.sub(replacement, name)
    name = CONTROL.sub(replacement, name)
    name = RESERVED.sub(replacement, name, count=1)
    name = WINDOWS_RESERVED.sub(replacement, name, count=1)
    name = WINDOWS_TRAILING.sub(replacement, name, count=1)
    return name.encode("utf-8")[:BYTE_LIMIT].decode("utf-8", errors="ignore")


def sanitize(name: str) -> str:
    """``name`` made safe for a file name, exactly as the deploy CLI's ``sanitize`` does."""
    return _pass(_pass(name, "-"), "")


def directory_file(name: str) -> str:
    """The file name the deploy CLI's directory layout gives a flow or connection."""
    return sanitize(f"{name}.json")


def yaml_file(name: str) -> str:
    """The file name the deploy CLI's YAML layout gives a flow's body."""
    return f"{sanitize(name)}.json"
