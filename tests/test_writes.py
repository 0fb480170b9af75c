"""The run's records as the engine writes them: several writes in one go, a write held back
by a cancel request, and (on PostgreSQL) statements prepared once per connection."""

import copy

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from flows_app import writes
from flows_app.models import Run, StepRun
from flows_app.services import create_flow, create_run


@pytest.fixture
def run(db):
    flow = create_flow(name="Writes", definition={"schema_version": 1, "actions": []})
    return create_run(flow, trigger=Run.Trigger.API, input={"user": "ada"}, draft=True)


def _step(run: Run, position: int) -> StepRun:
    return StepRun(
        run=run,
        step_id=f"s{position}",
        action_type="AUTH0_GET_USER",
        position=position,
        inputs={"user_id": "auth0|1"},
        started_at=timezone.now(),
    )


def test_an_outcome_and_the_next_record_are_written_together(run):
    first = _step(run, 0)
    assert writes.save_all([(first, None)], unless_cancelled=run.pk)
    first.status, first.output = StepRun.Status.SUCCEEDED, {"email": "ada@example.com"}
    second = _step(run, 1)

    fields = ["status", "output"]
    assert writes.save_all([(first, fields), (second, None)], unless_cancelled=run.pk)

    assert second.pk is not None
    stored = {step.step_id: step for step in StepRun.objects.filter(run=run)}
    assert stored["s0"].status == StepRun.Status.SUCCEEDED
    assert stored["s0"].output == {"email": "ada@example.com"}
    assert stored["s1"].status == StepRun.Status.RUNNING
    assert stored["s1"].inputs == {"user_id": "auth0|1"}


def test_two_writes_of_one_row_in_one_go_both_land(run):
    """The run's start waits for the next write; when that is the run's end (a flow with no
    step), both are writes of the run's row, from two copies of it."""
    run.error = "begun"
    ended = copy.copy(run)
    ended.status = Run.Status.SUCCEEDED
    ended.finished_at = timezone.now()

    writes.save_all([(run, ["error"]), (ended, ["status", "finished_at"])])

    stored = Run.objects.get(pk=run.pk)
    assert (stored.error, stored.status) == ("begun", Run.Status.SUCCEEDED)
    assert stored.finished_at is not None


def test_a_cancel_holds_back_the_last_write_but_not_the_ones_before_it(run):
    first = _step(run, 0)
    writes.save(first)
    Run.objects.filter(pk=run.pk).update(cancel_requested_at=timezone.now())
    first.status = StepRun.Status.SUCCEEDED
    second = _step(run, 1)

    written = writes.save_all([(first, ["status"]), (second, None)], unless_cancelled=run.pk)

    assert written is False
    assert second.pk is None
    assert list(StepRun.objects.filter(run=run).values_list("step_id", "status")) == [
        ("s0", StepRun.Status.SUCCEEDED)
    ]


def test_an_outcome_whose_record_is_gone_is_an_error(run):
    first = _step(run, 0)
    writes.save(first)
    StepRun.objects.filter(pk=first.pk).delete()
    first.status = StepRun.Status.SUCCEEDED

    with pytest.raises(DatabaseError, match="gone"):
        writes.save_all([(first, ["status"]), (_step(run, 1), None)], unless_cancelled=run.pk)


def test_on_postgresql_a_step_write_is_prepared_once_and_the_orm_queries_never(run):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    previous = _step(run, 0)
    writes.save_all([(previous, None)], unless_cancelled=run.pk)
    prepared = []
    for position in range(1, 6):
        previous.status = StepRun.Status.SUCCEEDED
        following = _step(run, position)
        writes.save_all([(previous, ["status"]), (following, None)], unless_cancelled=run.pk)
        previous = following
        prepared.append(_prepared())

    assert prepared[0] == prepared[-1]  # the same statement each time, prepared once
    assert any(statement.startswith("WITH w0 AS (UPDATE") for statement in prepared[-1])
    assert Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).exists()
    assert not any("status" in s and "queued" in s for s in _prepared())  # the ORM's own
    assert connection.connection.prepare_threshold is None  # as Django leaves it


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY statement")
        return [row[0] for row in cursor.fetchall()]
