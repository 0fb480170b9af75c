"""Execute a run step by step, recording each step before and after its side effect.

The engine knows nothing of Celery, Channels or views: callers pass ``on_progress`` to hear
about every record it writes and ``should_stop`` to ask it to stop between steps. Running
a run again resumes after its last succeeded step; a step that was interrupted mid-way
(the process died after its record said "running") is executed again.

Every step may carry Auth0's two switches. ``allow_failure``: when the step fails the run
goes on; its record keeps status "failed" (the run page reads the switch from the
definition) and later steps read ``actions.<id>`` as
``{"error": {"message": …, "status": <HTTP status or null>, "body": <vendor body or null>}}``.
``mask_output``: later steps use the output, but the record keeps only ``MASK``; so after a
resume (which reads outputs back from the records) a masked output reads as ``MASK``.

An action changes the run itself through ``extra["effect"]`` (see flows_app.actions.logic):
``"vars"`` merges its output into the run's ``vars``, ``"result"`` makes it the run's
``result``, and ``"end"`` makes its failure end the run even when failure is allowed.
"""

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.utils import timezone

from flows_app.actions.base import StepContext, StepFailed
from flows_app.definition import action_of, steps_of
from flows_app.inputs import InputError, render_inputs
from flows_app.models import Run, StepRun
from flows_app.redaction import MASK, redact, vault_secrets
from vault_app.kinds.base import outbound_http

log = logging.getLogger(__name__)


class Stop(NamedTuple):
    """Why to stop between steps, and the status to end the run with."""

    status: str
    reason: str


class StepTimedOut(Exception):
    pass


ProgressCallback = Callable[[Run, StepRun | None], None]
StopCheck = Callable[[Run], Stop | None]


class _Execution:
    """The state of one pass over a run: outputs so far, secrets to redact, one HTTP client."""

    def __init__(
        self,
        run: Run,
        on_progress: ProgressCallback | None,
        should_stop,
        step_timeout: float | None = None,
    ):
        self.run = run
        self.step_timeout = step_timeout
        self.on_progress = on_progress or (lambda run, step: None)
        self.should_stop = should_stop or (lambda run: None)
        self.secrets = vault_secrets(run.definition)
        self.outputs: dict[str, Any] = {}
        given = run.input.get("vars") if isinstance(run.input, dict) else None
        self.vars: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        self.records = {record.step_id: record for record in run.steps.all()}
        self.http = outbound_http()

    def scope(self) -> dict[str, Any]:
        data = self.run.input if isinstance(self.run.input, dict) else {}
        return {
            "context": data.get("context") or {},
            "fields": data.get("fields") or {},
            "vars": dict(self.vars),
            "actions": dict(self.outputs),
        }

    def redact(self, value: Any) -> Any:
        return redact(value, self.secrets)


def execute(
    run: Run,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    step_timeout: float | None = None,
) -> Run:
    """Execute ``run`` to its end (or its first failure) and return it, saved.

    ``step_timeout`` interrupts a step that takes longer (only where the process can take a
    timer signal: the main thread, as in a Celery worker's pool process).
    """
    execution = _Execution(run, on_progress, should_stop, step_timeout)
    with execution.http:
        _begin(run)
        execution.on_progress(run, None)
        return _finish(execution, *_execute_steps(execution))


def _execute_steps(execution: _Execution) -> tuple[str, str]:
    """Run the steps not yet succeeded; return the run's final status and error."""
    for position, step in enumerate(steps_of(execution.run.definition)):
        done = execution.records.get(str(step.get("id")))
        if done and _restore(execution, done, step):
            continue
        stop = execution.should_stop(execution.run)
        if stop:
            return stop.status, stop.reason
        record, error = _execute_step(execution, step, position)
        if not error:
            continue
        if not may_fail(step):
            return Run.Status.FAILED, error
        execution.outputs[record.step_id] = error_output(record)
    return Run.Status.SUCCEEDED, ""


def may_fail(step: dict) -> bool:
    """Whether the run goes on when this step fails (never after an "end" action)."""
    action = action_of(step)
    ends = action is not None and action.extra.get("effect") == "end"
    return step.get("allow_failure") is True and not ends


def error_output(record: StepRun) -> dict[str, Any]:
    """What later steps read as ``actions.<id>`` of a step whose failure was allowed."""
    return {
        "error": {"message": record.error, "status": record.http_status, "body": record.error_body}
    }


def _restore(execution: _Execution, done: StepRun, step: dict) -> bool:
    """Take back what a step finished on an earlier pass left; False to execute it again."""
    if done.status == StepRun.Status.SUCCEEDED:
        execution.outputs[done.step_id] = done.output
        _apply_effect(execution, action_of(step), done.output, resumed=True)
        return True
    if done.status == StepRun.Status.FAILED and may_fail(step):
        execution.outputs[done.step_id] = error_output(done)
        return True
    return False


def _apply_effect(execution: _Execution, action, output: Any, *, resumed=False) -> None:
    effect = action.extra.get("effect") if action else None
    if effect == "vars" and isinstance(output, dict):
        execution.vars.update(output)
    elif effect == "result" and not resumed:  # the run's result was saved on that pass
        execution.run.result = execution.redact(output)
        execution.run.save(update_fields=["result"])


def _begin(run: Run) -> None:
    run.status = Run.Status.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.attempts += 1
    run.error = ""
    run.save(update_fields=["status", "started_at", "attempts", "error"])


def _finish(execution: _Execution, status: str, error: str) -> Run:
    run = execution.run
    run.status = status
    run.error = execution.redact(error)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    execution.on_progress(run, None)
    return run


def _execute_step(execution: _Execution, step: dict, position: int) -> tuple[StepRun, str]:
    """Run one step; return its record and the run's error message if it failed, else ''."""
    step_id = step.get("id") or f"step_{position + 1}"
    record = _start_record(execution, step_id, step, position)
    action = action_of(step)
    name = step.get("alias") or (action.label if action else step_id)
    if action is None:
        return record, _fail(execution, record, name, f"Unknown action {record.action_type}.")
    try:
        rendered = render_inputs(action, step.get("params") or {}, execution.scope())
    except InputError as exc:
        return record, _fail(execution, record, name, f"Template error in {exc}")
    execution.secrets |= rendered.masked
    record.inputs = execution.redact(rendered.values)
    record.warnings = rendered.warnings
    record.save(update_fields=["inputs", "warnings"])
    execution.on_progress(execution.run, record)
    masked = step.get("mask_output") is True
    return record, _perform(execution, record, action, rendered.values, name, masked)


def _perform(
    execution: _Execution, record: StepRun, action, values: dict, name: str, masked: bool
) -> str:
    """Call the action (the side effect) and record what came of it."""
    started = time.monotonic()
    context = StepContext(step_id=record.step_id, run_id=execution.run.pk, http=execution.http)
    try:
        with _deadline(execution.step_timeout):
            outcome = action.run(values, context)
    except StepTimedOut:
        message = f"The step took longer than {execution.step_timeout:g} s and was stopped."
        return _fail(execution, record, name, message, started)
    except StepFailed as exc:
        record.error_body = execution.redact(exc.body)
        record.http_status = exc.status
        return _fail(execution, record, name, str(exc), started)
    except Exception as exc:  # noqa: BLE001  (a bug in an action must not kill the worker)
        trace = execution.redact(traceback.format_exc())
        log.error("Step %s of run %s crashed:\n%s", record.step_id, execution.run.pk, trace)
        return _fail(execution, record, name, f"Internal error: {exc.__class__.__name__}", started)
    execution.outputs[record.step_id] = outcome.output
    _apply_effect(execution, action, outcome.output)
    record.status = StepRun.Status.SUCCEEDED
    record.output = MASK if masked else execution.redact(outcome.output)
    record.http_status = outcome.http_status
    _stamp(record, started)
    execution.on_progress(execution.run, record)
    return ""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    main = threading.current_thread() is threading.main_thread()
    if not seconds or not main or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise StepTimedOut()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _start_record(execution: _Execution, step_id: str, step: dict, position: int) -> StepRun:
    """Write the step's record before anything happens; an interrupted one starts anew."""
    record = execution.records.get(step_id) or StepRun(run=execution.run, step_id=step_id)
    record.position = position
    record.action_type = f"{step.get('type')}/{step.get('action')}"
    record.status = StepRun.Status.RUNNING
    record.inputs, record.output, record.error, record.error_body = {}, None, "", None
    record.http_status, record.warnings = None, []
    record.started_at, record.finished_at, record.duration_ms = timezone.now(), None, None
    record.save()
    return record


def _fail(execution, record: StepRun, name: str, message: str, started=None) -> str:
    record.status = StepRun.Status.FAILED
    record.error = execution.redact(message)
    _stamp(record, started)
    execution.on_progress(execution.run, record)
    return f"Step {record.step_id} ({name}) failed: {message}"


def _stamp(record: StepRun, started: float | None) -> None:
    record.finished_at = timezone.now()
    record.duration_ms = round((time.monotonic() - started) * 1000) if started else 0
    record.save()
