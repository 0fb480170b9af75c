"""Celery entry points. They stay thin: claim a run, keep it alive, let the engine run it."""

import logging
import os
import socket
import threading
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models.functions import Coalesce
from django.utils import timezone

from flows_app import events
from flows_app.engine import WAKE_SLACK, Stop, execute
from flows_app.models import Run, StepRun
from flows_app.plain_sql import records
from sluice import logs, metrics

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"


# A delay shorter than this is also handed to the broker as a countdown, so it ends on time;
# every delay is ended by the sweep as well, which reads the database and so survives a
# broker or worker restart (the broker only holds a countdown this long, well within
# Redis's visibility timeout).
COUNTDOWN_LIMIT = 600


def enqueue(run_id: int) -> None:
    """Hand a queued run to the workers."""
    execute_run.delay(run_id)


def wake_later(run: Run) -> None:
    """A run went to sleep in a delay: have a worker take it again when the delay ends."""
    if run.resume_at is None:
        return
    seconds = (run.resume_at - timezone.now()).total_seconds()
    if seconds <= COUNTDOWN_LIMIT:
        execute_run.apply_async((run.pk,), countdown=max(0.0, seconds + 0.1))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    """Execute a run once, wherever the message is delivered twice or after a crash."""
    run = claim(run_id)
    if run is None:
        return
    if run.attempts > settings.MAX_RUN_ATTEMPTS:  # the claim counted this attempt
        fail_lost(run)
        return
    if run.started_at is None:
        metrics.run_started(run)
    try:
        with logs.run_context(run.pk, run.flow_id), Heartbeat(run.pk):
            execute(
                run,
                on_progress=report,
                should_stop=past_time_limit,
                step_timeout=settings.STEP_TIMEOUT,
                claimed=True,
            )
    finally:
        events.flush()  # progress held back for a run's end that never came
    if run.status == Run.Status.WAITING:
        wake_later(run)


def report(run: Run, step: StepRun | None = None) -> None:
    """Hear what the engine wrote: tell browsers, count it, and name the step in logs."""
    events.run_changed(run, step)
    if step is None:
        metrics.run_ended(run)
        return
    logs.set_step(step.step_id if step.status == StepRun.Status.RUNNING else None)
    metrics.step_ended(step)


def claim(run_id: int) -> Run | None:
    """Take a queued run, a waiting one whose delay is over (or ends within ``WAKE_SLACK``
    seconds: a countdown may fire a little early), or a running one whose worker fell
    silent, with one conditional UPDATE that returns the run it took. The same UPDATE marks
    it running and counts the attempt (``execute(run, claimed=True)`` writes the rest of
    its beginning with its first step), so a run that kills every worker that takes it
    fails after ``MAX_RUN_ATTEMPTS`` however early it does.

    Only one worker's UPDATE matches, so a message delivered twice never runs a flow twice at
    the same time.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.STALE_RUN_AFTER)
    wake = now + timedelta(seconds=WAKE_SLACK)
    at = connection.ops.adapt_datetimefield_value  # as the ORM would send them
    params = [Run.Status.RUNNING, at(now), WORKER, run_id, Run.Status.QUEUED]
    params += [Run.Status.WAITING, at(wake), Run.Status.RUNNING, at(stale)]
    taken = records(Run, CLAIM, params)
    return taken[0] if taken else None


CLAIM = f"""
    UPDATE {Run._meta.db_table} SET status = %s, heartbeat_at = %s, worker = %s,
        attempts = attempts + 1
    WHERE id = %s AND (
        status = %s
        OR (status = %s AND resume_at <= %s)
        OR (status = %s AND heartbeat_at < %s)
    )
    RETURNING {", ".join(str(field.column) for field in Run._meta.concrete_fields)}
"""


def fail_lost(run: Run) -> None:
    run.status = Run.Status.FAILED
    run.error = (
        f"The worker executing this run was lost {run.attempts - 1} times; it will not be tried "
        "again."
    )
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    metrics.run_lost()
    report(run)


def past_time_limit(run: Run) -> Stop | None:
    """Between steps: fail a run past its time limit. (A cancel request the engine checks
    itself, with each step's first write.)"""
    limit = settings.RUN_TIME_LIMIT
    began = run.resumed_at or run.started_at  # time asleep in a delay does not count
    if began and timezone.now() - began > timedelta(seconds=limit):
        return Stop(Run.Status.FAILED, f"The run took longer than its time limit of {limit} s.")
    return None


class Heartbeat:
    """Mark a run as alive every few seconds from a background thread, while it executes."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.interval = max(1.0, settings.STALE_RUN_AFTER / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{run_id}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            close_old_connections()


@shared_task(ignore_result=True)
def sweep_runs() -> dict[str, int]:
    """Requeue runs whose worker fell silent, re-send queued runs nobody took, wake runs whose
    delay is over, and fail overdue ones."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.STALE_RUN_AFTER)
    overdue = now - timedelta(seconds=settings.RUN_TIME_LIMIT + settings.STALE_RUN_AFTER)
    began = Coalesce("resumed_at", "started_at")
    failed = (
        Run.objects.annotate(began=began)
        .filter(status=Run.Status.RUNNING, began__lt=overdue, heartbeat_at__lt=stale)
        .update(
            status=Run.Status.FAILED,
            finished_at=now,
            error=f"The run took longer than its time limit of {settings.RUN_TIME_LIMIT} s.",
        )
    )
    lost = list(
        Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__lt=stale).values_list(
            "pk", flat=True
        )[:500]
    )
    forgotten = list(
        Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=stale).values_list(
            "pk", flat=True
        )[:500]
    )
    due = list(
        Run.objects.filter(status=Run.Status.WAITING, resume_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    for run_id in lost + forgotten + due:
        enqueue(run_id)
    metrics.swept(requeued=len(lost), timed_out=failed)
    if lost or forgotten or failed or due:
        log.info(
            "Sweep: %d lost run(s) requeued, %d queued run(s) re-sent, %d delay(s) ended, "
            "%d overdue failed.",
            len(lost),
            len(forgotten),
            len(due),
            failed,
        )
    return {"requeued": len(lost), "resent": len(forgotten), "woken": len(due), "failed": failed}


@shared_task(ignore_result=True)
def prune_runs() -> int:
    from flows_app.retention import prune

    return prune()
