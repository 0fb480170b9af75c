"""Retry a failed run from its failed step.

A retry is a new run of the same definition (the same published version, or for a test run
the draft as that run froze it), with the same input and trigger, that points back at the
run it retries (``retry_of``; the original lists its ``retries``). It starts with copies of
the original's records of every step that finished before the failure: those that
succeeded or were pinned, the steps of the branches not taken, and steps whose failure the
flow allows (the steps after them read their error). Each copy is marked ``reused``. The
engine resumes after them as it resumes any run, so none of them is executed again: the
failed step runs first, then the rest. The original's result comes along, as the steps it
reused left it.
"""

import copy

from django.db import transaction

from flows_app import events
from flows_app.definition import all_steps
from flows_app.engine import may_fail
from flows_app.models import Run, StepRun
from flows_app.services import InvalidFlow, problems_of, published_version, version_problems

KEPT = (StepRun.Status.SUCCEEDED, StepRun.Status.PINNED, StepRun.Status.SKIPPED)
COPIED_FIELDS = (
    "step_id",
    "action_type",
    "position",
    "status",
    "inputs",
    "output",
    "sealed_output",
    "detail",
    "vars",
    "error",
    "error_body",
    "http_status",
    "warnings",
    "started_at",
    "finished_at",
    "duration_ms",
)


class CannotRetry(Exception):
    """The run cannot be retried; the message says why, for the person who asked."""


def retry_refusal(run: Run) -> str:
    """Why ``run`` cannot be retried from its failed step; "" when it can."""
    if run.trigger == Run.Trigger.STEP:
        return f"Run #{run.pk} tested one step: test the step again from the editor instead."
    if run.status != Run.Status.FAILED:
        state = run.get_status_display().lower()
        return f"Run #{run.pk} {_did(state)}: only a failed run can be retried."
    if run.version_deleted:
        return (
            f"Version {run.version_number} of {run.flow.name}, which run #{run.pk} ran, "
            "has been deleted, so the run cannot be retried on it."
        )
    other = run.retries.exclude(status__in=(Run.Status.FAILED, Run.Status.CANCELLED)).first()
    if other is not None:
        state = other.get_status_display().lower()
        return (
            f"Run #{run.pk} is already retried by run #{other.pk} ({state}): "
            "retry that one if it fails."
        )
    return ""


def _did(state: str) -> str:
    if state in ("queued", "running", "waiting"):
        return f"has not failed (it is {state})"
    return f"did not fail (it {state})"


def retry_run(run: Run, user=None) -> Run:
    """Queue a retry of a failed run (see the module's docstring) and return it.

    Raises CannotRetry for a run that did not fail, a test of one step, a run whose
    published version was deleted, or one that another retry, still going or succeeded,
    already retries (so a form sent twice does not redo the failed step twice);
    InvalidFlow when its version cannot run any more (a connection it uses was deleted).
    """
    from flows_app.tasks import enqueue

    version = published_version(run.version_id)
    problems = version_problems(version) if version else problems_of(run.definition)
    with transaction.atomic():
        Run.objects.select_for_update().filter(pk=run.pk).first()  # one retry at a time
        refusal = retry_refusal(run)
        if refusal:
            raise CannotRetry(refusal)
        if problems:
            raise InvalidFlow(problems)
        retry = Run.objects.create(
            flow_id=run.flow_id,
            version=version,
            version_number=run.version_number,
            definition=copy.deepcopy(run.definition),
            trigger=run.trigger,
            input=copy.deepcopy(run.input),
            result=run.result,
            created_by=user,
            retry_of=run,
        )
        StepRun.objects.bulk_create(_reused_records(run, retry))
    events.run_changed(retry)
    transaction.on_commit(lambda: enqueue(retry.pk))
    return retry


def _reused_records(run: Run, retry: Run) -> list[StepRun]:
    allowed = {str(step.get("id")) for step in all_steps(run.definition) if may_fail(step)}
    copies = []
    for record in run.steps.all():
        failed_on = record.status == StepRun.Status.FAILED and record.step_id in allowed
        if record.status in KEPT or failed_on:
            fields = {name: getattr(record, name) for name in COPIED_FIELDS}
            copies.append(StepRun(run=retry, reused=True, **fields))
    return copies
