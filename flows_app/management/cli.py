"""What the flow commands share: finding a flow and reading a JSON file."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from flows_app.models import Flow


def find_flow(name_or_id: str) -> Flow:
    """The flow with this id, or the only one with this name (any case)."""
    if name_or_id.isdigit():
        flows = Flow.objects.filter(pk=int(name_or_id))
    else:
        flows = Flow.objects.filter(name__iexact=name_or_id)
    found = list(flows[:2])
    if not found:
        raise CommandError(f"No flow is named {name_or_id!r}.")
    if len(found) > 1:
        raise CommandError(f"More than one flow is named {name_or_id!r}; give its id.")
    return found[0]


def read_json(path: str, *, want_object: bool = False) -> Any:
    """Parse a JSON file (``-`` is standard input), with errors a script can show."""
    try:
        data = json.loads(sys.stdin.read() if path == "-" else Path(path).read_text())
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} is not JSON: {exc}.") from None
    if want_object and not isinstance(data, dict):
        raise CommandError(f"{path} must hold a JSON object.")
    return data
