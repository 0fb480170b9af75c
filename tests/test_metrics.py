"""Prometheus metrics: who may scrape them, and values that match what ran."""

import pytest
from django.test import Client

from flows_app.models import Run
from flows_app.services import cancel_run, create_flow, create_run, start_run
from flows_app.tasks import execute_run, sweep_runs
from tests.flow_helpers import auth0_connection, step, user_input
from tests.metrics_helpers import TOKEN, Scrape, scrape

DATABASE = "Username-Password-Authentication"


@pytest.fixture
def scraping(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_FROM = []
    return Client()


def flow_of(*steps, name="Provisioning"):
    return create_flow(name=name, definition={"schema_version": 1, "actions": list(steps)})


def create_and_read(tenant):
    return [
        step(
            "create",
            "CREATE_USER",
            connection_id=tenant.pk,
            payload={
                "connection": DATABASE,
                "email": "{{ context.user.email }}",
                "password": "Pa55word!{{ context.user.user_id }}",
            },
        ),
        step("read", "GET_USER", connection_id=tenant.pk, user_id="{{ actions.create.user_id }}"),
    ]


# Who may scrape ---------------------------------------------------------------------------


def test_metrics_are_off_until_a_token_or_an_address_is_configured(db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW_FROM = "", []
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert response.content == b""


def test_a_wrong_scrape_token_gets_401_and_nothing_else(db, scraping):
    for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", "Bearer scrape"):
        response = scraping.get("/metrics", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.content == b""
        assert "sluice" not in str(response.headers).lower()
    assert scraping.get("/metrics").status_code == 401  # no token, no listed address


def test_the_scrape_token_needs_no_sign_in(db, scraping):
    assert "sluice_runs_queued" in scrape(scraping).names()


def test_listed_addresses_scrape_without_a_token_and_others_do_not(db, settings):
    import ipaddress

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_FROM = [ipaddress.ip_network("10.1.0.0/16")]
    inside = Client(REMOTE_ADDR="10.1.4.2").get("/metrics")
    assert inside.status_code == 200 and b"sluice_runs_waiting" in inside.content
    assert Client(REMOTE_ADDR="10.2.0.1").get("/metrics").status_code == 401
    # A listed address that sends a token must send the right one.
    wrong = Client(REMOTE_ADDR="10.1.4.2").get("/metrics", headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401


# Values that match what ran ----------------------------------------------------------------


def test_runs_steps_and_auth0_answers_are_counted(
    db, scraping, auth0_standin, django_capture_on_commit_callbacks
):
    tenant = auth0_connection(auth0_standin)
    flow = flow_of(*create_and_read(tenant))
    broken = flow_of(
        step("read", "GET_USER", connection_id=tenant.pk, user_id="auth0|nobody"), name="Broken"
    )
    before = scrape(scraping)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            start_run(flow, trigger=Run.Trigger.API, input=user_input(email=f"u{n}@example.com"))
        start_run(broken, trigger=Run.Trigger.MANUAL, input={}, draft=True)
    after = scrape(scraping)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    ids = {"ok": str(flow.pk), "broken": str(broken.pk)}
    assert delta("sluice_runs_started_total", flow=ids["ok"], trigger="api") == 3
    assert delta("sluice_runs_finished_total", flow=ids["ok"], status="succeeded") == 3
    assert delta("sluice_runs_finished_total", flow=ids["broken"], status="failed") == 1
    assert delta("sluice_run_duration_seconds_count", flow=ids["ok"], status="succeeded") == 3
    create = {"action": "AUTH0/CREATE_USER", "status": "succeeded"}
    assert delta("sluice_step_duration_seconds_count", **create) == 3
    read_ok = {"action": "AUTH0/GET_USER", "status": "succeeded"}
    assert delta("sluice_step_duration_seconds_count", **read_ok) == 3
    read_failed = {"action": "AUTH0/GET_USER", "status": "failed"}
    assert delta("sluice_step_duration_seconds_count", **read_failed) == 1
    # Six calls that succeeded, one 404, and one token for the connection.
    assert delta("sluice_vendor_responses_total", kind="auth0", status_class="2xx") == 7
    assert delta("sluice_vendor_responses_total", kind="auth0", status_class="4xx") == 1
    assert delta("sluice_token_requests_total", kind="auth0", outcome="issued") == 1
    assert len(auth0_standin.requests_to("/oauth/token")) == 1


def test_429s_and_retries_are_counted(
    db, scraping, auth0_standin, django_capture_on_commit_callbacks
):
    tenant = auth0_connection(auth0_standin)
    flow = flow_of(*create_and_read(tenant))
    auth0_standin.rate_limited("/api/v2/users", times=2, retry_after=0)
    before = scrape(scraping)
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(flow, trigger=Run.Trigger.API, input=user_input())
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    after = scrape(scraping)
    assert (
        after.value("sluice_vendor_rate_limited_total", kind="auth0")
        - before.value("sluice_vendor_rate_limited_total", kind="auth0")
        == 2
    )
    assert (
        after.value("sluice_vendor_retries_total", kind="auth0")
        - before.value("sluice_vendor_retries_total", kind="auth0")
        == 2
    )


def test_queued_running_and_waiting_runs_are_read_at_scrape_time(db, scraping, settings):
    from sluice.celery import app

    waiting = flow_of(
        {
            "id": "pause",
            "type": "FLOW",
            "action": "DELAY_FLOW",
            "params": {"number": 1, "units": "HOURS"},
        },
        name="Pause",
    )
    run = create_run(waiting, trigger=Run.Trigger.API, input={}, draft=True)
    execute_run(run.pk)
    queued = [create_run(waiting, trigger=Run.Trigger.API, input={}, draft=True) for _ in range(2)]
    settings.CELERY_TASK_DEFAULT_QUEUE = app.conf.task_default_queue = "sluice-metrics-test"
    app.conf.task_always_eager = False
    try:
        _purge(app, "sluice-metrics-test")
        for queued_run in queued:
            execute_run.delay(queued_run.pk)
        found = scrape(scraping)
        assert found.value("sluice_queue_depth") == 2
    finally:
        _purge(app, "sluice-metrics-test")
        app.conf.task_default_queue = "sluice"
    assert found.value("sluice_runs_waiting") == 1
    assert found.value("sluice_runs_queued") == 2
    assert found.value("sluice_runs_running") == 0


def _purge(app, queue):
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)


def test_requeued_and_lost_runs_are_counted(db, scraping, settings):
    from datetime import timedelta

    from django.utils import timezone

    flow = flow_of({"id": "noop", "type": "FLOW", "action": "DO_NOTHING", "params": {}})
    stale = timezone.now() - timedelta(seconds=settings.STALE_RUN_AFTER + 5)
    silent = create_run(flow, trigger=Run.Trigger.API, input={}, draft=True)
    Run.objects.filter(pk=silent.pk).update(status=Run.Status.RUNNING, heartbeat_at=stale)
    hopeless = create_run(flow, trigger=Run.Trigger.API, input={}, draft=True)
    Run.objects.filter(pk=hopeless.pk).update(attempts=settings.MAX_RUN_ATTEMPTS)
    before = scrape(scraping)
    from sluice.celery import app

    app.conf.task_always_eager = False  # the sweep only queues; nothing runs here
    try:
        settings.CELERY_TASK_DEFAULT_QUEUE = app.conf.task_default_queue = "sluice-sweep-test"
        assert sweep_runs()["requeued"] == 1
        _purge(app, "sluice-sweep-test")
    finally:
        app.conf.task_default_queue = "sluice"
    app.conf.task_always_eager = True
    execute_run(hopeless.pk)
    after = scrape(scraping)
    for name in ("sluice_runs_requeued_total", "sluice_runs_lost_total"):
        assert after.value(name) - before.value(name) == 1
    failed = {"flow": str(flow.pk), "status": "failed"}
    assert (
        after.value("sluice_runs_finished_total", **failed)
        - before.value("sluice_runs_finished_total", **failed)
        == 1
    )


def test_a_cancelled_queued_run_is_counted_as_finished(db, scraping, admin_client):
    flow = flow_of({"id": "noop", "type": "FLOW", "action": "DO_NOTHING", "params": {}})
    run = create_run(flow, trigger=Run.Trigger.API, input={}, draft=True)
    before = scrape(scraping)
    admin_client.post(f"/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    labels = {"flow": str(flow.pk), "status": "cancelled"}
    after = scrape(scraping)
    assert (
        after.value("sluice_runs_finished_total", **labels)
        - before.value("sluice_runs_finished_total", **labels)
        == 1
    )
    assert cancel_run(run) is False


def test_labels_carry_ids_and_fixed_words_never_names_or_templates(
    db, scraping, auth0_standin, django_capture_on_commit_callbacks
):
    tenant = auth0_connection(auth0_standin, name="Tenant {{ secret }}")
    flow = flow_of(*create_and_read(tenant), name="Payroll of Ada Lovelace")
    unknown = {"id": "slack", "type": "SLACK", "action": "POST_MESSAGE", "params": {}}
    with django_capture_on_commit_callbacks(execute=True):
        start_run(flow, trigger=Run.Trigger.API, input=user_input(email="ada@example.com"))
    run = create_run(flow, trigger=Run.Trigger.API, input={}, draft=True)
    Run.objects.filter(pk=run.pk).update(definition={"schema_version": 1, "actions": [unknown]})
    execute_run(run.pk)
    text = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    secret = auth0_standin.client_secret
    for private in ("Ada", "Payroll", "ada@example.com", "{{", "Tenant", secret):
        assert private not in text
    found = Scrape(text)
    assert str(flow.pk) in found.label_values("flow")
    assert all(value.isdigit() for value in found.label_values("flow"))
    assert "other" in found.label_values("action")
    assert "SLACK/POST_MESSAGE" not in found.label_values("action")


# Real worker processes ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_counts_of_every_worker_process_add_up_at_one_scrape(
    tmp_path, monkeypatch, settings, smtp_standin
):
    """Two worker processes with two pool processes each count into one directory; the web
    process's /metrics adds them up."""
    from sluice.celery import app
    from tests.flow_helpers import email_provider
    from tests.workers import Workers, wait_until

    settings.METRICS_TOKEN, settings.METRICS_ALLOW_FROM = TOKEN, []
    smtp_standin.username = ""
    email_provider(smtp_standin)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    pool = Workers(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    app.conf.task_always_eager = False
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE = pool.queue
    mail = step("hello", "SEND_EMAIL", to="a@example.com", subject="Hi", body="<p>x</p>")
    noop = {"id": "noop", "type": "FLOW", "action": "DO_NOTHING", "params": {}}
    stop = {"id": "stop", "type": "FLOW", "action": "ERROR_MESSAGE", "params": {"message": "No"}}
    good, bad = flow_of(mail, noop, name="Greet"), flow_of(stop, name="Refuse")
    runs = [create_run(good, trigger=Run.Trigger.API, input={}, draft=True) for _ in range(6)]
    runs += [create_run(bad, trigger=Run.Trigger.CLI, input={}, draft=True) for _ in range(2)]
    try:
        pool.start(count=2, concurrency=2)
        for run in runs:
            execute_run.delay(run.pk)
        ids = [run.pk for run in runs]
        assert wait_until(
            lambda: Run.objects.filter(pk__in=ids, status__in=Run.FINAL).count() == len(ids),
            timeout=120,
        )
        found = scrape(Client())
    finally:
        pool.stop()
        app.conf.task_default_queue = "sluice"
    good_id, bad_id = str(good.pk), str(bad.pk)
    assert found.value("sluice_runs_started_total", flow=good_id, trigger="api") == 6
    assert found.value("sluice_runs_started_total", flow=bad_id, trigger="cli") == 2
    assert found.value("sluice_runs_finished_total", flow=good_id, status="succeeded") == 6
    assert found.value("sluice_runs_finished_total", flow=bad_id, status="failed") == 2
    assert found.value("sluice_run_duration_seconds_count", flow=good_id, status="succeeded") == 6
    sent = {"action": "AUTH0/SEND_EMAIL", "status": "succeeded"}
    assert found.value("sluice_step_duration_seconds_count", **sent) == 6
    assert (
        found.value(
            "sluice_step_duration_seconds_count", action="FLOW/DO_NOTHING", status="succeeded"
        )
        == 6
    )
    refused = {"action": "FLOW/ERROR_MESSAGE", "status": "failed"}
    assert found.value("sluice_step_duration_seconds_count", **refused) == 2
    assert found.value("sluice_runs_queued") == 0 and found.value("sluice_runs_running") == 0
    assert len(smtp_standin.messages) == 6
    # More than one process counted: the numbers above are sums over processes.
    assert len(list(tmp_path.glob("counter_*.db"))) >= 2
    # A machine of workers without a web server serves the same counts on its own port.
    served = serve_metrics(tmp_path)
    assert served.value("sluice_runs_finished_total", flow=good_id, status="succeeded") == 6
    assert served.value("sluice_step_duration_seconds_count", **refused) == 2


def serve_metrics(directory) -> Scrape:
    import os
    import sys

    import httpx

    from tests.standins.processes import Process
    from tests.workers import free_port

    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "SLUICE_METRICS_TOKEN": TOKEN}
    command = [sys.executable, "manage.py", "serve_metrics", "--host", "127.0.0.1"]
    server = Process(port, [*command, "--port", str(port)], env)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        refused = httpx.get(url, headers={"Authorization": "Bearer wrong"})
        assert (refused.status_code, refused.content) == (401, b"")
        answer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        return Scrape(answer.text)
    finally:
        server.stop()


def test_runs_from_the_command_line_are_counted(db, scraping):
    import io

    from django.core.management import call_command

    flow = flow_of({"id": "noop", "type": "FLOW", "action": "DO_NOTHING", "params": {}})
    before = scrape(scraping)
    call_command("run_flow", str(flow.pk), "--draft", stdout=io.StringIO())
    after = scrape(scraping)
    started = {"flow": str(flow.pk), "trigger": "cli"}
    finished = {"flow": str(flow.pk), "status": "succeeded"}
    assert (
        after.value("sluice_runs_started_total", **started)
        - before.value("sluice_runs_started_total", **started)
        == 1
    )
    assert (
        after.value("sluice_runs_finished_total", **finished)
        - before.value("sluice_runs_finished_total", **finished)
        == 1
    )


def test_make_run_counts_into_an_emptied_directory(settings, tmp_path):
    from sluice.management.commands.serve import fresh_metrics_dir

    settings.METRICS_DIR, settings.DATA_DIR = "", tmp_path
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_4242.db").write_bytes(b"old counts")
    assert fresh_metrics_dir() == tmp_path / "metrics"
    assert list((tmp_path / "metrics").iterdir()) == []


def test_metrics_without_a_shared_directory_are_warned_about(settings, tmp_path):
    from sluice.checks import check_metrics

    settings.METRICS_TOKEN, settings.METRICS_ALLOW_FROM = TOKEN, []
    settings.METRICS_DIR = str(tmp_path / "missing")
    assert [w.id for w in check_metrics()] == ["sluice.W005"]
    settings.METRICS_DIR = str(tmp_path)
    assert check_metrics() == []
    settings.METRICS_TOKEN, settings.METRICS_DIR = "", ""
    assert check_metrics() == []
