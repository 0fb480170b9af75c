"""Strict readers for settings that come from environment variables.

Every reader names the variable in its error, so a bad value stops start-up with a
message that says what to fix. Secrets can also be given as ``NAME_FILE``: the path of a
file whose contents (without the trailing newline) are the value.
"""

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


class SettingError(ImproperlyConfigured):
    """A variable in the environment has a value Sluice cannot use."""


def raw(name: str, environ=None) -> str | None:
    """Return the variable's value, reading ``NAME_FILE`` if that is set instead."""
    environ = os.environ if environ is None else environ
    file_name = environ.get(f"{name}_FILE")
    if name in environ and file_name:
        raise SettingError(f"{name} and {name}_FILE are both set; keep one of them.")
    if file_name:
        try:
            return Path(file_name).read_text().rstrip("\r\n")
        except OSError as exc:
            raise SettingError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}.") from exc
    return environ.get(name)


def string(name: str, default: str = "", environ=None) -> str:
    value = raw(name, environ)
    return default if value is None or value.strip() == "" else value.strip()


def boolean(name: str, default: bool, environ=None) -> bool:
    value = raw(name, environ)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingError(f"{name} must be true or false (or 1/0, yes/no, on/off), got {value!r}.")


def integer(name: str, default: int, minimum: int, maximum: int, environ=None) -> int:
    value = raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise SettingError(f"{name} must be a whole number, got {value!r}.") from None
    if not minimum <= number <= maximum:
        raise SettingError(f"{name} must be between {minimum} and {maximum}, got {number}.")
    return number


def words(name: str, default: list[str], environ=None) -> list[str]:
    """Read a comma-separated list; blank items are dropped."""
    value = raw(name, environ)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, options: tuple[str, ...], environ=None) -> str:
    value = string(name, default, environ).lower()
    if value not in options:
        raise SettingError(f"{name} must be one of {', '.join(options)}, got {value!r}.")
    return value


def nameservers(name: str, environ=None) -> list[tuple[str, int]]:
    """Read DNS resolvers as ``IP`` or ``IP:PORT`` (``[IPv6]:PORT``), comma-separated."""
    found = []
    for item in words(name, [], environ):
        host, port = item, "53"
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":") or "53"
        elif item.count(":") == 1:
            host, port = item.split(":")
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            raise SettingError(f"{name}: {item!r} is not an IP address (or IP:PORT).") from None
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingError(f"{name}: {item!r} has no valid port.")
        found.append((address, int(port)))
    return found


def networks(name: str, environ=None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Read IP addresses or networks (``10.0.0.0/8``, ``::1``), comma-separated."""
    found = []
    for item in words(name, [], environ):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingError(
                f"{name}: {item!r} is not an IP address or network (such as 10.0.0.0/8)."
            ) from None
    return found


def origin(name: str, default: str, environ=None) -> str:
    """Read an http(s) origin such as ``https://sluice.example.com`` or ``http://127.0.0.1:8000``:
    a scheme and a host, perhaps a port, nothing else. Returned without a trailing slash."""
    value = string(name, default, environ)
    if not value:
        return ""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or port == -1
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise SettingError(
            f"{name} must be an http(s) address with no path, such as "
            f"https://sluice.example.com or http://127.0.0.1:8000, got {value!r}."
        )
    return f"{parts.scheme}://{parts.netloc}"


def local_origin(host: str, port: int) -> str:
    """How this machine reaches a server listening on ``host``: a wildcard is loopback."""
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{port}"
