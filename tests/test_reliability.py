"""Claiming, time limits, step timeouts and retention, without worker processes."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from flows_app.engine import cancel_stop, execute
from flows_app.models import Run, StepRun
from flows_app.services import cancel_run, create_flow, create_run, start_run
from flows_app.tasks import claim, past_time_limit, sweep_runs
from tests.flow_helpers import phone_provider, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return create_flow(
        name="Text",
        definition={
            "schema_version": 1,
            "actions": [
                step("text", "SEND_SMS", to="+14155550123", message="Hello {{ fields.n }}")
            ],
        },
    )


def queued(flow):
    return create_run(flow, trigger=Run.Trigger.API, input={"fields": {"n": 1}}, draft=True)


def test_only_one_claim_of_a_run_succeeds(flow):
    run = queued(flow)
    assert claim(run.pk) is not None
    assert claim(run.pk) is None


def test_a_running_run_with_a_fresh_heartbeat_cannot_be_claimed_but_a_stale_one_can(flow, settings):
    run = queued(flow)
    claim(run.pk)
    assert claim(run.pk) is None
    old = timezone.now() - timedelta(seconds=settings.STALE_RUN_AFTER + 1)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=old)
    assert claim(run.pk) is not None


def test_the_claim_counts_the_attempt_before_anything_else_is_written(flow, twilio_standin):
    phone_provider(twilio_standin)
    run = queued(flow)
    claimed = claim(run.pk)
    stored = Run.objects.get(pk=run.pk)
    assert (stored.status, stored.attempts, stored.started_at) == (Run.Status.RUNNING, 1, None)
    executed = execute(claimed, claimed=True)
    stored.refresh_from_db()
    assert executed.status == stored.status == Run.Status.SUCCEEDED
    assert stored.attempts == 1 and stored.started_at is not None
    assert stored.started_at <= stored.steps.get().started_at


def test_a_run_started_from_the_ui_executes_once_committed(
    flow, twilio_standin, django_capture_on_commit_callbacks
):
    phone_provider(twilio_standin)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(flow, trigger=Run.Trigger.MANUAL, input={"fields": {"n": 7}})
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and run.version is None
    assert twilio_standin.messages[0]["body"] == "Hello 7"


def test_a_published_flow_runs_its_latest_version_and_records_it(flow, twilio_standin):
    from flows_app.services import publish_flow

    phone_provider(twilio_standin)
    publish_flow(flow)
    flow.draft["actions"][0]["params"]["message"] = "Changed draft"
    flow.save()
    version = publish_flow(flow)
    flow.draft["actions"][0]["params"]["message"] = "Unpublished"
    flow.save()
    run = execute(create_run(flow, trigger=Run.Trigger.API, input={}))
    assert run.version == version
    assert twilio_standin.messages[0]["body"] == "Changed draft"


def test_cancel_requested_stops_before_the_next_step(flow):
    run = queued(flow)
    claim(run.pk)
    cancel_run(run)
    stop = cancel_stop(run.pk)
    assert stop.status == Run.Status.CANCELLED
    executed = execute(run, should_stop=past_time_limit)
    assert executed.status == Run.Status.CANCELLED
    assert not executed.steps.exists()


def texts_flow(*names: str, message: str = "{{ fields.n }}"):
    texts = [step(name, "SEND_SMS", to="+14155550123", message=message) for name in names]
    return create_flow(name="Texts", definition={"schema_version": 1, "actions": texts})


def cancel_while_texting(monkeypatch, run, user) -> list[str]:
    """Have the first text a step sends ask for the run to be cancelled; return the texts
    sent."""
    from flows_app.actions import notifications

    sent: list[str] = []
    send = notifications.send_sms

    def cancelling(*args, **kwargs):
        if not sent:
            cancel_run(run, user)
        sent.append(args)
        return send(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_sms", cancelling)
    return sent


def test_a_cancel_made_while_a_step_acts_stops_the_run_before_the_next_step(
    monkeypatch, twilio_standin, editor_user
):
    phone_provider(twilio_standin)
    run = queued(texts_flow("a", "b"))
    sent = cancel_while_texting(monkeypatch, run, editor_user)
    executed = execute(run)  # no should_stop: the engine checks for a cancel request itself
    assert executed.status == Run.Status.CANCELLED
    assert executed.error == (
        f"Cancelled by {editor_user.email} while running; the steps after the last "
        "finished one did not run."
    )
    assert len(sent) == 1 and len(twilio_standin.messages) == 1
    assert dict(run.steps.values_list("step_id", "status")) == {"a": "succeeded"}


def test_a_cancel_comes_before_a_step_that_cannot_be_rendered(
    monkeypatch, twilio_standin, editor_user
):
    phone_provider(twilio_standin)
    flow = texts_flow("a")
    failing = "{{ fields.n | divided_by: 0 }}"  # fails as it renders
    flow.draft["actions"].append(step("b", "SEND_SMS", to="+14155550123", message=failing))
    flow.save()
    run = queued(flow)
    cancel_while_texting(monkeypatch, run, editor_user)
    executed = execute(run)
    assert executed.status == Run.Status.CANCELLED, executed.error
    assert dict(run.steps.values_list("step_id", "status")) == {"a": "succeeded"}


def test_a_cancelled_run_does_not_act_again_on_a_step_a_lost_worker_left_running(
    twilio_standin, editor_user
):
    phone_provider(twilio_standin)
    run = queued(texts_flow("a"))
    StepRun.objects.create(
        run=run, step_id="a", action_type="AUTH0/SEND_SMS", position=0, status="running"
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, started_at=timezone.now())
    cancel_run(run, editor_user)
    run.refresh_from_db()
    executed = execute(run)
    assert executed.status == Run.Status.CANCELLED
    assert not twilio_standin.messages
    assert run.steps.get().status == StepRun.Status.RUNNING  # as the lost worker left it


def test_a_finished_run_cannot_be_cancelled(flow):
    run = queued(flow)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
    assert cancel_run(run) is False
    assert run.status == Run.Status.SUCCEEDED


def test_a_run_past_its_time_limit_fails_between_steps(flow, settings):
    settings.RUN_TIME_LIMIT = 10
    run = queued(flow)
    Run.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=11))
    run.refresh_from_db()
    executed = execute(run, should_stop=past_time_limit)
    assert executed.status == Run.Status.FAILED
    assert executed.error == "The run took longer than its time limit of 10 s."


def test_a_step_that_hangs_is_interrupted(flow, monkeypatch, twilio_standin):
    from flows_app.actions import notifications

    phone_provider(twilio_standin)
    # Uninterrupted, the step would end a minute later without this error.
    monkeypatch.setattr(notifications, "send_sms", lambda *a, **k: time.sleep(60))
    run = execute(queued(flow), step_timeout=0.3)
    assert run.status == Run.Status.FAILED
    assert run.steps.get().error == "The step took longer than 0.3 s and was stopped."


def test_a_step_s_outcome_is_recorded_before_the_next_step_acts(monkeypatch, twilio_standin):
    from flows_app.actions import notifications

    phone_provider(twilio_standin)
    texts = [step(name, "SEND_SMS", to="+14155550123", message=name) for name in "abc"]
    flow = create_flow(name="Texts", definition={"schema_version": 1, "actions": texts})
    run = queued(flow)
    recorded = []
    send = notifications.send_sms

    def watched(*args, **kwargs):
        recorded.append(dict(StepRun.objects.filter(run=run).values_list("step_id", "status")))
        return send(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_sms", watched)
    assert execute(run).status == Run.Status.SUCCEEDED
    assert recorded == [
        {"a": "running"},
        {"a": "succeeded", "b": "running"},
        {"a": "succeeded", "b": "succeeded", "c": "running"},
    ]
    assert dict(run.steps.values_list("step_id", "status")) == dict.fromkeys("abc", "succeeded")


def test_the_sweep_fails_runs_far_past_their_time_limit(flow, settings):
    run = queued(flow)
    long_ago = timezone.now() - timedelta(seconds=settings.RUN_TIME_LIMIT + 3600)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    assert sweep_runs()["failed"] == 1
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and "time limit" in run.error


def test_prune_runs_deletes_old_finished_runs_in_batches(flow, capsys):
    old = timezone.now() - timedelta(days=40)
    runs = [queued(flow) for _ in range(5)]
    Run.objects.filter(pk__in=[r.pk for r in runs[:3]]).update(
        status=Run.Status.SUCCEEDED, created_at=old
    )
    Run.objects.filter(pk=runs[3].pk).update(created_at=old)  # still queued: kept
    StepRun.objects.create(run=runs[0], step_id="text", action_type="AUTH0/SEND_SMS", position=0)
    call_command("prune_runs", "--days", "30", "--batch", "2")
    assert "Deleted 3 finished run(s) older than 30 day(s)." in capsys.readouterr().out
    assert set(Run.objects.values_list("pk", flat=True)) == {runs[3].pk, runs[4].pk}
    assert not StepRun.objects.exists()
