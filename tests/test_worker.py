"""Runs executed by real `celery worker` processes: none lost, none repeated, none stuck."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flows_app.models import Run, StepRun
from flows_app.services import cancel_run, create_flow, create_run
from flows_app.tasks import execute_run, sweep_runs
from sluice.celery import app
from tests.flow_helpers import email_provider, step
from tests.workers import Workers, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workers(settings):
    pool = Workers(SLUICE_STALE_RUN_AFTER="5")
    app.conf.task_always_eager = False
    app.conf.task_default_queue = pool.queue
    settings.STALE_RUN_AFTER = 5
    yield pool
    pool.kill()
    app.conf.task_default_queue = "sluice"


@pytest.fixture
def mail(smtp_standin):
    smtp_standin.username = ""
    smtp_standin.slow_seconds = 4
    email_provider(smtp_standin)
    return smtp_standin


def mail_step(step_id, to):
    return step(
        step_id, "SEND_EMAIL", to=to, subject=f"{step_id} {{{{ fields.n }}}}", body="<p>x</p>"
    )


def flow_of(*steps):
    return create_flow(name="Mail", definition={"schema_version": 1, "actions": list(steps)})


def queue(flow, count=1):
    runs = [
        create_run(flow, trigger=Run.Trigger.API, input={"fields": {"n": n}}, draft=True)
        for n in range(count)
    ]
    for run in runs:
        execute_run.delay(run.pk)
    return runs


def final(run_ids):
    return Run.objects.filter(pk__in=run_ids, status__in=Run.FINAL).count() == len(run_ids)


def sent_to(mail, address):
    return [m for m in mail.messages if address in m.rcpt_tos]


def test_many_runs_on_two_workers_all_finish_once(workers, mail):
    workers.start(count=2, concurrency=2)
    runs = queue(flow_of(mail_step("hello", "a@example.com")), count=40)
    ids = [run.pk for run in runs]
    assert wait_until(lambda: final(ids), timeout=120)
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"succeeded"}
    subjects = sorted(m.message["Subject"] for m in mail.messages)
    assert subjects == sorted(f"hello {n}" for n in range(40))
    assert set(Run.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_solo_workers_run_every_run_once(workers, mail):
    workers.start(count=2, pool="solo")
    runs = queue(flow_of(mail_step("hello", "a@example.com")), count=20)
    ids = [run.pk for run in runs]
    for run in runs[:5]:
        execute_run.delay(run.pk)  # delivered twice
    assert wait_until(lambda: final(ids), timeout=120)
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"succeeded"}
    subjects = sorted(m.message["Subject"] for m in mail.messages)
    assert subjects == sorted(f"hello {n}" for n in range(20))


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_a_step_past_the_step_timeout_is_stopped(workers, mail, pool):
    workers.env.update(SLUICE_STEP_TIMEOUT="1", SLUICE_OUTBOUND_TIMEOUT="30")
    mail.slow_recipients = {"slow@example.com"}
    flow = flow_of(mail_step("slow", "slow@example.com"), mail_step("next", "b@example.com"))
    workers.start(pool=pool)
    [run] = queue(flow)
    assert wait_until(lambda: final([run.pk]))
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "The step took longer than 1 s and was stopped." in run.error
    assert list(run.steps.values_list("step_id", "status")) == [("slow", "failed")]
    assert not sent_to(mail, "b@example.com")


def test_a_message_delivered_twice_runs_the_flow_once(workers, mail):
    workers.start(count=2, concurrency=2)
    [run] = queue(flow_of(mail_step("hello", "a@example.com")))
    for _ in range(3):
        execute_run.delay(run.pk)
    assert wait_until(lambda: final([run.pk]))
    assert len(mail.messages) == 1


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_a_killed_worker_s_run_resumes_without_repeating_steps(workers, mail, pool):
    mail.slow_recipients = {"slow@example.com"}
    flow = flow_of(
        mail_step("first", "a@example.com"),
        mail_step("slow", "slow@example.com"),
        mail_step("last", "c@example.com"),
    )
    workers.start(pool=pool)
    [run] = queue(flow)
    assert wait_until(lambda: StepRun.objects.filter(run=run, step_id="slow").exists())
    workers.kill()
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING
    mail.slow_recipients = set()
    workers.start(pool=pool)
    assert wait_until(lambda: sweep_runs()["requeued"] == 1, timeout=30)
    assert wait_until(lambda: final([run.pk]), timeout=60)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.attempts == 2
    assert len(sent_to(mail, "a@example.com")) == 1
    assert len(sent_to(mail, "c@example.com")) == 1


def test_a_run_whose_worker_vanished_is_swept_and_finished(workers, mail):
    flow = flow_of(mail_step("first", "a@example.com"), mail_step("second", "b@example.com"))
    run = create_run(flow, trigger=Run.Trigger.API, input={"fields": {"n": 1}}, draft=True)
    stale = timezone.now() - timedelta(minutes=5)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING, started_at=stale, heartbeat_at=stale, attempts=1
    )
    StepRun.objects.create(
        run=run,
        step_id="first",
        action_type="AUTH0/SEND_EMAIL",
        position=0,
        status=StepRun.Status.SUCCEEDED,
        output={"success": True},
    )
    workers.start()
    assert sweep_runs()["requeued"] == 1
    assert wait_until(lambda: final([run.pk]))
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert [m.rcpt_tos for m in mail.messages] == [["b@example.com"]]


def test_a_run_lost_too_often_fails_with_a_reason(workers, mail, settings):
    run = create_run(
        flow_of(mail_step("first", "a@example.com")), trigger=Run.Trigger.API, draft=True
    )
    stale = timezone.now() - timedelta(minutes=5)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING,
        heartbeat_at=stale,
        started_at=stale,
        attempts=settings.MAX_RUN_ATTEMPTS,
    )
    workers.start()
    sweep_runs()
    assert wait_until(lambda: final([run.pk]))
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "was lost 3 times" in run.error
    assert not mail.messages


def test_cancelling_a_running_run_stops_it_before_its_next_step(workers, mail):
    mail.slow_recipients = {"slow@example.com"}
    flow = flow_of(mail_step("slow", "slow@example.com"), mail_step("next", "b@example.com"))
    workers.start()
    [run] = queue(flow)
    assert wait_until(lambda: StepRun.objects.filter(run=run, step_id="slow").exists())
    assert cancel_run(run)
    assert wait_until(lambda: final([run.pk]))
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert "Cancelled while running" in run.error
    assert not sent_to(mail, "b@example.com")


def test_a_cancelled_queued_run_never_starts(workers, mail):
    [run] = queue(flow_of(mail_step("hello", "a@example.com")))
    assert cancel_run(run)
    workers.start()
    execute_run.delay(run.pk)
    # One worker takes the queue's messages in order: once a run sent after it is over, the
    # cancelled run's message has been taken too.
    [later] = queue(flow_of(mail_step("hello", "b@example.com")))
    assert wait_until(lambda: final([later.pk]))
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.started_at is None
    assert not sent_to(mail, "a@example.com")
    assert len(sent_to(mail, "b@example.com")) == 1


def test_a_delay_outlives_a_worker_restart_and_holds_no_worker_while_waiting(workers, mail):
    pause = delay_step(3)
    flow = flow_of(mail_step("before", "a@example.com"), pause, mail_step("after", "b@example.com"))
    mail.slow_seconds = 0
    workers.start()
    [run] = queue(flow)
    assert wait_until(lambda: Run.objects.get(pk=run.pk).status == Run.Status.WAITING)
    # While it waits, the single worker is free: another run goes through at once.
    [other] = queue(flow_of(mail_step("other", "c@example.com")))
    assert wait_until(lambda: final([other.pk]), timeout=30)
    waiting = Run.objects.get(pk=run.pk)
    assert waiting.status == Run.Status.WAITING
    workers.kill()  # the wake-up message it held may be gone with it
    workers.start()
    assert wait_until(lambda: timezone.now() > waiting.resume_at)
    sweep_runs()  # the scheduled sweep finds the delay over and hands the run out again
    assert wait_until(lambda: final([run.pk]), timeout=60)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert [m.rcpt_tos for m in mail.messages if m.rcpt_tos != ["c@example.com"]] == [
        ["a@example.com"],
        ["b@example.com"],
    ]
    waited = run.steps.get(step_id="pause")
    assert waited.status == StepRun.Status.SUCCEEDED and waited.duration_ms >= 3000


def test_a_short_delay_ends_on_time_without_waiting_for_the_sweep(workers, mail):
    pause = delay_step(2)
    mail.slow_seconds = 0
    workers.start()
    [run] = queue(flow_of(pause, mail_step("after", "b@example.com")))
    assert wait_until(lambda: final([run.pk]), timeout=30)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert 2 <= (run.finished_at - run.started_at).total_seconds() < 10


def delay_step(seconds: int) -> dict:
    return {
        "id": "pause",
        "type": "FLOW",
        "action": "DELAY_FLOW",
        "params": {"number": seconds, "units": "SECONDS"},
    }
