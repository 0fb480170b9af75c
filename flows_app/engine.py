"""Execute a run step by step, recording each step before and after its side effect.

The engine knows nothing of Celery, Channels or views: callers pass ``on_progress`` to hear
about every record it writes and ``should_stop`` to ask it to stop between steps. Running
a run again resumes after its last succeeded step; a step that was interrupted mid-way
(the process died after its record said "running") is executed again.

Each step's record is written twice: "running" before its side effect, and its outcome
after it. The outcome goes in the same write as the next step's "running" record (or the
run's end), which always comes before the next side effect: a step that succeeded is on
record before anything else happens, in one round trip instead of two. The "running" write
is made only if nobody has asked the run to stop (``cancel_run``): the statement itself
checks, so a cancel request costs no query of its own, and the run ends cancelled before
the step acts.

Every step may carry Auth0's two switches. ``allow_failure``: when the step fails the run
goes on; its record keeps status "failed" (the run page reads the switch from the
definition) and later steps read ``actions.<id>`` as
``{"error": {"message": …, "status": <HTTP status or null>, "body": <vendor body or null>}}``.
``mask_output``: later steps use the output, but the record shows only ``MASK`` (and so do
a condition's operands and the variables it stored); the output itself is kept encrypted
with the vault keys in ``sealed_output``, so a resumed run reads it back.

An action changes the run itself through ``extra["effect"]`` (see flows_app.actions.logic):
``"vars"`` merges its output into the run's ``vars`` (the record keeps the variables after
it), ``"result"`` makes it the run's ``result``, ``"end"`` makes its failure end the run even
when failure is allowed, ``"branch"`` runs the If/then branch it chose and records the other
branch's steps as skipped, and ``"delay"`` ends the pass with the run ``waiting`` until the
delay is over; the next pass (started by ``flows_app.tasks``) goes on after the delay.

Test runs (and tests of one step) honour the draft's pinned outputs (``flows_app.pins``):
a pinned step is not executed; its record gets status "pinned" and the pin as its output
(redacted, or ``MASK`` and sealed for a masked step, like a real output), and the run goes
on as if the step had output it: later steps read it as ``actions.<id>``, a pinned Store
shared variables stores it, a pinned Return JSON becomes the result, a pinned If/then takes
the branch its ``result`` names, a pinned Delay does not wait and a pinned Show error
message does not end the run. Every other run executes every step.

A test of one step (trigger "step") runs a definition of that one step; the outputs the
steps before it had in the editor come sealed in the definition's ``given`` and are read
as ``actions.<id>``. A retry (``retry_of``) starts with copies of the original run's
records of the steps that finished, and resumes after them like any resumed run.
"""

import copy
import logging
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from flows_app import writes
from flows_app.actions.base import StepContext, StepFailed
from flows_app.deadline import StepTimedOut, step_deadline
from flows_app.definition import action_of, all_steps, branches_of, steps_of, walk
from flows_app.inputs import InputError, render_inputs
from flows_app.models import Run, StepRun
from flows_app.pins import pins_of
from flows_app.redaction import (
    MASK,
    mask_operands,
    mask_values,
    redact,
    run_connections,
    seal_output,
    unseal_output,
    vault_secrets,
)
from vault_app.kinds.base import shared_outbound_http

log = logging.getLogger(__name__)
WAKE_SLACK = 2.0  # seconds a delay may be ended early by the worker sleeping out the rest


class Stop(NamedTuple):
    """Why to stop between steps, and the status to end the run with."""

    status: str
    reason: str


class Cancelled(Exception):  # noqa: N818  (not an error: how a cancel request stops a pass)
    """Someone asked the run to stop: raised before the next step acts."""

    def __init__(self, stop: Stop):
        super().__init__(stop.reason)
        self.stop = stop


def cancel_stop(run_id: int) -> Stop | None:
    """Stop for a cancel request, if someone made one, saying who."""
    asked = Run.objects.filter(pk=run_id, cancel_requested_at__isnull=False)
    found = asked.values_list("cancelled_by__email", flat=True)[:1]
    if not found:
        return None
    who = f" by {found[0]}" if found[0] else ""
    return Stop(
        Run.Status.CANCELLED,
        f"Cancelled{who} while running; the steps after the last finished one did not run.",
    )


ProgressCallback = Callable[[Run, StepRun | None], None]
StopCheck = Callable[[Run], Stop | None]


class _Execution:
    """The state of one pass over a run: outputs so far, secrets to redact, the HTTP client."""

    def __init__(
        self,
        run: Run,
        on_progress: ProgressCallback | None,
        should_stop,
        step_timeout: float | None = None,
        fresh: bool = False,
    ):
        self.run = run
        self.step_timeout = step_timeout
        self.on_progress = on_progress or (lambda run, step: None)
        self.should_stop = should_stop or (lambda run: None)
        self.connections = run_connections(run.definition)
        self.secrets = vault_secrets(self.connections.values())
        self.codes: set[str] = set()  # one-time codes made or checked in this run
        self.outputs: dict[str, Any] = {}
        given = run.input.get("vars") if isinstance(run.input, dict) else None
        self.vars: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        self.masked_vars: set[str] = set()  # the variables a masked step stored last
        self.pins = pins_of(run.definition) if uses_pins(run) else {}
        if run.trigger == Run.Trigger.STEP and run.definition.get("given"):
            given = unseal_output(run.definition["given"])
            self.outputs.update(given if isinstance(given, dict) else {})
        records = [] if fresh else run.steps.all()
        self.records = {record.step_id: record for record in records}
        # Each step's id and place in reading order; one without an id is named by its place.
        self.ids: dict[int, str] = {}
        self.positions: dict[str, int] = {}
        for position, placed in enumerate(walk(run.definition)):
            step = placed.step if isinstance(placed.step, dict) else {}
            name = str(step.get("id") or f"step_{position + 1}")
            self.ids[id(placed.step)] = name
            self.positions.setdefault(name, position)
        self.http = shared_outbound_http()  # connections kept from earlier runs
        self.pending: list[tuple[Run | StepRun, Any]] = []  # written with the next write

    def write(self, record: Run | StepRun, fields: list[str] | None = None) -> None:
        """Write ``record`` (its ``fields``, or all of it) and the outcomes waiting to be
        written, in one go; then announce those outcomes."""
        writes.save_all([*self.pending, (record, fields)])
        self._announce_pending()

    def write_before_acting(self, record: StepRun) -> None:
        """Write a step's record before it acts, with the outcomes waiting to be written,
        unless someone asked the run to stop: the same statement checks that, so a cancel
        request costs no query of its own before every step. Raises ``Cancelled`` then."""
        written = writes.save_all([*self.pending, (record, None)], unless_cancelled=self.run.pk)
        self._announce_pending()
        if not written:
            stop = cancel_stop(self.run.pk)
            if stop is None:  # not held back: the record it updates is gone
                raise DatabaseError(writes.GONE)
            raise Cancelled(stop)
        self.on_progress(self.run, record)

    def stop_if_cancelled(self) -> None:
        """Before a step fails without acting (it cannot be rendered): a cancel request
        still comes first."""
        stop = cancel_stop(self.run.pk)
        if stop:
            raise Cancelled(stop)

    def write_later(self, record: Run | StepRun, fields) -> None:
        """A step is over: its outcome goes with the next write, which always comes before
        the next side effect (the next step's "running" record) or ends the pass (the run's
        own record). A step's outcome is announced once written."""
        self.pending.append((record, fields))

    def flush(self) -> None:
        if self.pending:
            writes.save_all(self.pending)
            self._announce_pending()

    def _announce_pending(self) -> None:
        written, self.pending = self.pending, []
        for record, _fields in written:
            if isinstance(record, StepRun):
                self.on_progress(self.run, record)

    def step_id(self, step: dict) -> str:
        return self.ids.get(id(step)) or str(step.get("id") or "step")

    def scope(self) -> dict[str, Any]:
        data = self.run.input if isinstance(self.run.input, dict) else {}
        return {
            "context": data.get("context") or {},
            "fields": data.get("fields") or {},
            "vars": dict(self.vars),
            "actions": dict(self.outputs),
        }

    def redact(self, value: Any) -> Any:
        return redact(value, self.secrets, self.codes)

    def note_codes(self, action, output: Any) -> None:
        """Remember the one-time codes an action's output holds, to keep them out of the
        records of the steps after it (``extra["secrets"]`` names them)."""
        found = action.extra.get("secrets") if action else None
        if found:
            self.codes |= {str(code) for code in found(output) if code not in (None, "")}

    def note_stored(self, stored: Any, *, masked: bool) -> None:
        """Remember which variables a masked step stored last, to show them masked."""
        names = set(stored) if isinstance(stored, dict) else set()
        self.masked_vars = self.masked_vars | names if masked else self.masked_vars - names


def execute(
    run: Run,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    step_timeout: float | None = None,
    claimed: bool = False,
) -> Run:
    """Execute ``run`` to its end, its first failure or its next delay, and return it, saved.

    A run that reaches a delay is left ``waiting`` with ``resume_at`` set; executing it
    again after that time goes on from the delay. ``step_timeout`` interrupts a step that
    takes longer (only where the process can take a timer signal: the main thread, as in a
    Celery worker's pool process). ``claimed``: a worker's claim already marked the run
    running and counted this attempt (``flows_app.tasks.claim``); the rest of its beginning
    is written with the first step's record.
    """
    # Never started: no step records to resume from, except the copies a retry starts with.
    fresh = run.started_at is None and run.retry_of_id is None
    execution = _Execution(run, on_progress, should_stop, step_timeout, fresh)
    _begin(execution, claimed)
    execution.on_progress(run, None)
    try:
        ending = _execute_list(execution, steps_of(run.definition))
    except BaseException:
        _flush_before_raising(execution)
        raise
    return _finish(execution, ending or Ending(Run.Status.SUCCEEDED))


def _flush_before_raising(execution: _Execution) -> None:
    """Something broke mid-pass: still record how the last step ended, if that can be done,
    so that a step that succeeded is not executed again when the run resumes."""
    try:
        execution.flush()
    except Exception:  # noqa: BLE001  (the error on its way out says what broke)
        log.warning("Could not record the last step of run %s.", execution.run.pk, exc_info=True)


def uses_pins(run: Run) -> bool:
    """Whether a run takes the definition's pinned outputs: test runs only."""
    return run.trigger in (Run.Trigger.TEST, Run.Trigger.STEP)


class Ending(NamedTuple):
    """How a pass over the run ends: its status, error, and when a waiting run resumes."""

    status: str
    error: str = ""
    resume_at: datetime | None = None


def _execute_list(execution: _Execution, steps: list) -> Ending | None:
    """Run a list of steps in order; an Ending stops the pass, None means go on after it."""
    for step in steps:
        ending = _execute_one(execution, step if isinstance(step, dict) else {})
        if ending:
            return ending
    return None


def _execute_one(execution: _Execution, step: dict) -> Ending | None:
    step_id = execution.step_id(step)
    done = execution.records.get(step_id)
    if done and done.status == StepRun.Status.WAITING:
        ending = _wake(execution, done)
        if ending:
            return ending
    elif not (done and _restore(execution, done, step)):
        stop = execution.should_stop(execution.run)
        if stop:
            return Ending(stop.status, stop.reason)
        try:
            if step_id in execution.pins:
                _pin_step(execution, step, execution.pins[step_id])
                return _execute_branch(execution, step)
            record, error = _execute_step(execution, step)
        except Cancelled as cancelled:
            return Ending(cancelled.stop.status, cancelled.stop.reason)
        if error and not may_fail(step):
            return Ending(Run.Status.FAILED, error)
        if error:
            execution.outputs[record.step_id] = error_output(record)
        elif record.status == StepRun.Status.WAITING:
            return Ending(Run.Status.WAITING, resume_at=_until(record))
    return _execute_branch(execution, step)


def _execute_branch(execution: _Execution, step: dict) -> Ending | None:
    """After an If/then: run the branch it chose, record the other one's steps as skipped
    (both, when the condition itself failed and its failure was allowed)."""
    branches = branches_of(step)
    if not branches:
        return None
    record = execution.records.get(execution.step_id(step))
    detail = record.detail if record and isinstance(record.detail, dict) else {}
    chosen = detail.get("branch") if record and record.status in DONE else None
    _skip(execution, [s for name, inner in branches if name != chosen for s in inner])
    taken = next((inner for name, inner in branches if name == chosen), [])
    return _execute_list(execution, taken)


def _skip(execution: _Execution, steps: list) -> None:
    """Record steps (and the steps inside them) as skipped, unless an earlier pass did."""
    for step in all_steps({"actions": steps}):
        step_id = execution.step_id(step)
        if step_id in execution.records:
            continue
        record = StepRun(
            run=execution.run,
            step_id=step_id,
            position=execution.positions.get(step_id, 0),
            action_type=f"{step.get('type')}/{step.get('action')}",
            status=StepRun.Status.SKIPPED,
            inputs={},
        )
        execution.write(record)
        execution.records[step_id] = record


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


DONE = (StepRun.Status.SUCCEEDED, StepRun.Status.PINNED)  # a step whose output later steps read


def _restore(execution: _Execution, done: StepRun, step: dict) -> bool:
    """Take back what a step finished on an earlier pass left; False to execute it again."""
    if done.status in DONE:
        output = unseal_output(done.sealed_output) if done.sealed_output else done.output
        execution.outputs[done.step_id] = output
        execution.note_codes(action_of(step), output)
        if _apply_effect(execution, action_of(step), output, resumed=True):
            execution.note_stored(output, masked=step.get("mask_output") is True)
        return True
    if done.status == StepRun.Status.FAILED and may_fail(step):
        execution.outputs[done.step_id] = error_output(done)
        return True
    return False


def _wake(execution: _Execution, record: StepRun) -> Ending | None:
    """A delay the run slept in: done when its time has come, else sleep on. Woken at most
    ``WAKE_SLACK`` seconds early, the worker waits out the rest itself."""
    until = _until(record)
    left = (until - timezone.now()).total_seconds() if until else 0.0
    if left > WAKE_SLACK:
        return Ending(Run.Status.WAITING, resume_at=until)
    if left > 0:
        time.sleep(left)
    record.status = StepRun.Status.SUCCEEDED
    record.output = {}
    record.finished_at = timezone.now()
    if record.started_at:
        record.duration_ms = round((record.finished_at - record.started_at).total_seconds() * 1000)
    execution.write(record, ["status", "output", "finished_at", "duration_ms"])
    execution.run.resumed_at = record.finished_at  # the run's time limit counts from here
    execution.write(execution.run, ["resumed_at"])
    execution.outputs[record.step_id] = {}
    execution.on_progress(execution.run, record)
    return None


def _until(record: StepRun) -> datetime | None:
    detail = record.detail if isinstance(record.detail, dict) else {}
    return parse_datetime(str(detail.get("until") or "")) or None


def _apply_effect(execution: _Execution, action, output: Any, *, resumed=False) -> bool:
    """Apply what the action does to the run itself; True when it changed the variables."""
    effect = action.extra.get("effect") if action else None
    if effect == "vars" and isinstance(output, dict):
        execution.vars.update(output)
        return True
    if effect == "result" and not resumed:  # the run's result was saved on that pass
        execution.run.result = execution.redact(output)
        execution.write(execution.run, ["result"])
    return False


def _begin(execution: _Execution, claimed: bool) -> None:
    run = execution.run
    run.status = Run.Status.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.resume_at = None
    run.error = ""
    if claimed:  # the claim wrote the status and the attempt: nothing here needs to wait
        execution.write_later(run, ["status", "started_at", "resume_at", "error"])
        return
    run.attempts += 1
    writes.save(run, ["status", "started_at", "resume_at", "attempts", "error"])


def _finish(execution: _Execution, ending: Ending) -> Run:
    run = execution.run
    waiting = ending.status == Run.Status.WAITING
    ended = copy.copy(run)
    ended.status = ending.status
    ended.error = execution.redact(ending.error)
    ended.resume_at = ending.resume_at
    ended.finished_at = None if waiting else timezone.now()
    if waiting:
        ended.attempts = 0  # a delay is not a lost worker: the next stretch starts afresh
    # The last step's outcome goes in the same write, announced as it happened: while the
    # run still ran.
    execution.write(ended, FINISH_FIELDS)
    for field in FINISH_FIELDS:
        setattr(run, field, getattr(ended, field))
    execution.on_progress(run, None)
    return run


FINISH_FIELDS = ["status", "error", "resume_at", "finished_at", "attempts"]


def _execute_step(execution: _Execution, step: dict) -> tuple[StepRun, str]:
    """Run one step; return its record and the run's error message if it failed, else ''."""
    step_id = execution.step_id(step)
    record = _new_record(execution, step_id, step)
    action = action_of(step)
    name = step.get("alias") or (action.label if action else step_id)
    if action is None:
        execution.stop_if_cancelled()
        return record, _fail(execution, record, name, f"Unknown action {record.action_type}.")
    try:
        rendered = render_inputs(action, _rendered_params(action, step), execution.scope())
    except InputError as exc:
        execution.stop_if_cancelled()
        return record, _fail(execution, record, name, f"Template error in {exc}")
    execution.secrets |= rendered.masked
    masked = step.get("mask_output") is True
    # A masked step's inputs are recorded as written: rendered, they may show its output.
    shown = dict(_rendered_params(action, step) if masked else rendered.values)
    for spec in action.inputs:
        if spec.secret and spec.name in shown:
            value = rendered.values.get(spec.name)
            execution.codes |= {str(value)} if value not in (None, "") else set()
            shown[spec.name] = MASK
    record.inputs = execution.redact(shown)
    record.warnings = rendered.warnings
    execution.write_before_acting(record)  # a crash from here on leaves the step "running"
    return record, _perform(execution, record, action, rendered.values, name, masked)


def _pin_step(execution: _Execution, step: dict, output: Any) -> None:
    """Record a pinned step as if it had output ``output``, and apply what that does to the
    run; the action is not called."""
    step_id = execution.step_id(step)
    record = _new_record(execution, step_id, step)
    action = action_of(step)
    masked = step.get("mask_output") is True
    execution.outputs[step_id] = output
    if _apply_effect(execution, action, output):
        execution.note_stored(output, masked=masked)
        record.vars = execution.redact(mask_values(execution.vars, execution.masked_vars))
    effect = action.extra.get("effect") if action else None
    if effect == "branch" and isinstance(output, dict) and isinstance(output.get("result"), bool):
        record.detail = {"branch": "then" if output["result"] else "else", "pinned": True}
    record.status = StepRun.Status.PINNED
    record.output = MASK if masked else execution.redact(output)
    record.sealed_output = seal_output(output) if masked else ""
    execution.note_codes(action, output)
    record.finished_at = record.started_at
    execution.write_before_acting(record)


def _rendered_params(action, step: dict) -> dict:
    """The params an action renders: an If/then's branches are steps, run by the engine."""
    params = step.get("params") or {}
    return {k: v for k, v in params.items() if k not in ("then", "else")}


def _perform(
    execution: _Execution, record: StepRun, action, values: dict, name: str, masked: bool
) -> str:
    """Call the action (the side effect) and record what came of it."""
    started = time.monotonic()
    context = StepContext(
        step_id=record.step_id,
        run_id=execution.run.pk,
        http=execution.http,
        connections=execution.connections,
    )
    try:
        with step_deadline(execution.step_timeout):
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
    if _apply_effect(execution, action, outcome.output):
        execution.note_stored(outcome.output, masked=masked)
        record.vars = execution.redact(mask_values(execution.vars, execution.masked_vars))
    record.status = StepRun.Status.SUCCEEDED
    record.output = MASK if masked else execution.redact(outcome.output)
    record.sealed_output = seal_output(outcome.output) if masked else ""
    execution.note_codes(action, outcome.output)  # after: the step's own output shows them
    record.detail = _detail(execution, outcome.detail, masked)
    record.http_status = outcome.http_status
    if action.extra.get("effect") == "delay" and (outcome.detail or {}).get("seconds"):
        until = timezone.now() + timedelta(seconds=outcome.detail["seconds"])
        record.status = StepRun.Status.WAITING
        record.output = None
        record.detail = {**(record.detail or {}), "until": until.isoformat()}
        execution.write(record)
        execution.on_progress(execution.run, record)
        return ""
    _stamp(execution, record, started)
    return ""


def _detail(execution: _Execution, detail: dict | None, masked: bool) -> dict | None:
    if not detail:
        return None
    if masked and "checks" in detail:
        detail = {**detail, "checks": [mask_operands(check) for check in detail["checks"]]}
    return execution.redact(detail)


def _new_record(execution: _Execution, step_id: str, step: dict) -> StepRun:
    """The step's record, running; an interrupted one starts anew. The caller saves it
    once its inputs are rendered, before the side effect."""
    record = execution.records.get(step_id) or StepRun(run=execution.run, step_id=step_id)
    execution.records[step_id] = record
    record.position = execution.positions.get(step_id, 0)
    record.action_type = f"{step.get('type')}/{step.get('action')}"
    record.status = StepRun.Status.RUNNING
    record.inputs, record.output, record.error, record.error_body = {}, None, "", None
    record.http_status, record.warnings, record.detail, record.vars = None, [], None, None
    record.sealed_output = ""
    record.started_at, record.finished_at, record.duration_ms = timezone.now(), None, None
    return record


def _fail(execution, record: StepRun, name: str, message: str, started=None) -> str:
    record.status = StepRun.Status.FAILED
    record.error = execution.redact(message)
    _stamp(execution, record, started)
    return f"Step {record.step_id} ({name}) failed: {message}"


# What a step's record gains once the step is over; the rest was written before it ran.
OUTCOME_FIELDS = (
    "status",
    "output",
    "sealed_output",
    "detail",
    "vars",
    "error",
    "error_body",
    "http_status",
    "finished_at",
    "duration_ms",
)


def _stamp(execution: _Execution, record: StepRun, started: float | None) -> None:
    record.finished_at = timezone.now()
    record.duration_ms = round((time.monotonic() - started) * 1000) if started else 0
    execution.write_later(record, None if record.pk is None else OUTCOME_FIELDS)
