"""What log lines say about where they come from, and the JSON format (``SLUICE_LOG_FORMAT``).

A request (``sluice.middleware.request_context``) and a run executed by a worker
(``flows_app.tasks``) set context variables; :class:`ContextFilter` copies them onto every
log record, so a line names the ``request``, ``run``, ``flow`` and ``step`` it belongs to.
:class:`JsonFormatter` writes one JSON object per line, with the message and every field
passed through the same redaction as run records: the secrets of the vault connections the
run uses, and any value under a credential's key (``password``, ``token``…).
"""

import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("sluice_request_id", default=None)
CLIENT_ADDRESS: ContextVar[str | None] = ContextVar("sluice_client_address", default=None)
RUN: ContextVar["_RunScope | None"] = ContextVar("sluice_run", default=None)
STEP: ContextVar[str | None] = ContextVar("sluice_step", default=None)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Record attribute -> JSON key of the ids a line belongs to.
_CONTEXT = {"request_id": "request", "run_id": "run", "flow_id": "flow", "step_id": "step"}


class _RunScope:
    """The run a worker executes; its vault secrets are read only if something is logged."""

    def __init__(self, run_id: int, flow_id: int):
        self.run_id, self.flow_id = run_id, flow_id
        self._secrets: set[str] | None = None

    def secrets(self) -> set[str]:
        if self._secrets is None:
            self._secrets = set()  # while reading them, a log line does not recurse here
            self._secrets = _run_secrets(self.run_id)
        return self._secrets


def _run_secrets(run_id: int) -> set[str]:
    from flows_app.models import Run
    from flows_app.redaction import run_connections, vault_secrets

    try:
        definition = Run.objects.values_list("definition", flat=True).get(pk=run_id)
        return vault_secrets(run_connections(definition).values())
    except Exception:  # noqa: BLE001  (logging goes on; the key-based redaction still applies)
        return set()


@contextmanager
def run_context(run_id: int, flow_id: int) -> Iterator[None]:
    """Name the run (and its flow) in every log line written inside."""
    run_token = RUN.set(_RunScope(run_id, flow_id))
    step_token = STEP.set(None)
    try:
        yield
    finally:
        STEP.reset(step_token)
        RUN.reset(run_token)


def set_step(step_id: str | None) -> None:
    """Name the step being executed (None between steps)."""
    STEP.set(step_id)


class ContextFilter(logging.Filter):
    """Put the request, run, flow and step a line belongs to on its record."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = RUN.get()
        record.request_id = REQUEST_ID.get()
        record.run_id = scope.run_id if scope else None
        record.flow_id = scope.flow_id if scope else None
        record.step_id = STEP.get() if scope else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context ids and extra fields,
    redacted like run records."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, key in _CONTEXT.items():
            value = getattr(record, name, None)
            if value is not None:
                entry[key] = value
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(_redacted(entry), default=str, ensure_ascii=False)


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {}
    for name, value in record.__dict__.items():
        if name in _STANDARD or name in _CONTEXT or name.startswith("_"):
            continue
        if name in ("request", "status_code") or not _plain(value):
            continue
        fields[name] = value
    return fields


def _plain(value: Any) -> bool:
    """Whether a field is data worth writing (Django attaches the request object itself)."""
    return isinstance(value, str | int | float | bool | list | dict | type(None))


def _redacted(entry: dict[str, Any]) -> dict[str, Any]:
    from flows_app.redaction import redact

    scope = RUN.get()
    return redact(entry, scope.secrets() if scope else set())
