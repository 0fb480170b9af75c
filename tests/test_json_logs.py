"""SLUICE_LOG_FORMAT=json: one JSON object per line from the web server, workers and beat,
naming the request, run, flow and step; never a secret."""

import io
import json
import logging
import subprocess
import sys

import httpx
import pytest
from django.test import Client

from flows_app.models import Run
from flows_app.services import create_flow, create_run
from flows_app.tasks import execute_run
from sluice import logs
from tests.conftest import PASSWORD
from tests.flow_helpers import email_provider, step
from tests.http_helpers import http_connection
from tests.standins.processes import ROOT, web_server
from tests.workers import Workers, database_url, wait_until

SMTP_PASSWORD = "smtp-password-Jw73kPq"


def json_lines(text: str) -> list[dict]:
    """Every line of ``text`` parsed as a JSON object; fails on a line that is not one."""
    entries = []
    for line in text.splitlines():
        if line.strip():
            try:
                entry = json.loads(line)
            except ValueError:
                raise AssertionError(f"not a JSON line: {line!r}") from None
            assert isinstance(entry, dict) and {"time", "level", "logger", "message"} <= set(entry)
            entries.append(entry)
    return entries


def json_handler() -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    return handler, stream


@pytest.fixture
def captured():
    """Log lines of every logger, as the JSON format writes them."""
    handler, stream = json_handler()
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_lines_in_a_run_name_it_and_redact_its_secrets(db, captured, smtp_standin):
    smtp_standin.password = SMTP_PASSWORD
    relay = email_provider(smtp_standin)
    relay.set_secrets({"password": SMTP_PASSWORD})
    relay.save()
    mail = step("hello", "SEND_EMAIL", to="a@example.com", subject="Hi", body="<p>x</p>")
    flow = create_flow(name="Mail", definition={"schema_version": 1, "actions": [mail]})
    run = create_run(flow, trigger=Run.Trigger.API, input={}, draft=True)
    log = logging.getLogger("sluice.test")
    with logs.run_context(run.pk, flow.pk):
        logs.set_step("hello")
        log.warning("Relay refused %s", SMTP_PASSWORD, extra={"password": "hunter2", "n": 3})
        try:
            raise RuntimeError(f"login {SMTP_PASSWORD} failed")
        except RuntimeError:
            log.exception("Crashed")
    log.warning("After the run")
    entries = json_lines(captured.getvalue())
    first, second, after = [e for e in entries if e["logger"] == "sluice.test"]
    assert (first["run"], first["flow"], first["step"]) == (run.pk, flow.pk, "hello")
    assert first["message"] == "Relay refused [redacted]"
    assert first["password"] == "[redacted]" and first["n"] == 3 and first["level"] == "warning"
    assert "RuntimeError: login [redacted] failed" in second["exception"]
    assert "run" not in after and "step" not in after
    assert SMTP_PASSWORD not in captured.getvalue() and "hunter2" not in captured.getvalue()


def test_a_request_names_its_id_in_its_lines_and_its_answer(db, captured, viewer_user):
    client = Client()
    client.force_login(viewer_user)
    response = client.get("/vault/", headers={"X-Request-ID": "probe-1234-abcd"})
    assert response.status_code == 403 and response["X-Request-ID"] == "probe-1234-abcd"
    [forbidden] = [e for e in json_lines(captured.getvalue()) if e["logger"] == "django.request"]
    assert forbidden["request"] == "probe-1234-abcd"
    assert (
        forbidden["message"]
        == "Forbidden: GET /vault/ by vera@example.com (viewer): Only admins can open this page."
    )
    forged = client.get("/flows/", headers={"X-Request-ID": "bad id\nINFO forged"})
    assert forged["X-Request-ID"] != "bad id\nINFO forged" and len(forged["X-Request-ID"]) == 32


def test_a_failed_sign_in_logs_the_audit_line_without_the_password(db, captured):
    Client().post("/login/", {"username": "ada@example.com", "password": PASSWORD + "x"})
    [audit] = [e for e in json_lines(captured.getvalue()) if e["logger"] == "sluice.audit"]
    assert audit["audit_verb"] == "sign_in.failed" and len(audit["request"]) == 32
    assert PASSWORD not in captured.getvalue()


# Real processes: a scan of everything they write ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_workers_write_only_json_and_no_secret(tmp_path, settings, smtp_standin, api_standin):
    from sluice.celery import app

    smtp_standin.password = SMTP_PASSWORD
    relay = email_provider(smtp_standin)
    relay.set_secrets({"password": SMTP_PASSWORD})
    relay.save()
    partner = http_connection(api_standin, "OAUTH_CLIENT_CREDENTIALS")
    api_standin.protected("GET", "/me", {"name": "Ada"})
    steps = [
        step("hello", "SEND_EMAIL", to="a@example.com", subject="Hi", body="<p>x</p>"),
        {
            "id": "me",
            "type": "HTTP",
            "action": "SEND_REQUEST",
            "params": {"url": api_standin.url("/me"), "method": "GET", "connection_id": partner.pk},
        },
    ]
    flow = create_flow(name="Greet", definition={"schema_version": 1, "actions": steps})
    runs = [create_run(flow, trigger=Run.Trigger.API, input={}, draft=True) for _ in range(3)]
    pool = Workers(
        SLUICE_LOG_FORMAT="json",
        SLUICE_LOG_LEVEL="info",
        SLUICE_OUTBOUND_ALLOW_HOSTS="127.0.0.1",
    )
    pool.output = tmp_path / "worker.log"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = pool.queue
    try:
        pool.start(count=1, concurrency=2)
        for run in runs:
            execute_run.delay(run.pk)
        ids = [run.pk for run in runs]
        assert wait_until(
            lambda: Run.objects.filter(pk__in=ids, status__in=Run.FINAL).count() == 3, timeout=120
        )
    finally:
        pool.kill()  # no warm shutdown: Celery prints that one line itself, not as JSON
        app.conf.task_default_queue = "sluice"
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"succeeded"}
    text = pool.output.read_text()
    entries = json_lines(text)
    token_lines = [e for e in entries if "client-credentials token" in e["message"]]
    assert token_lines and token_lines[0]["run"] in ids and token_lines[0]["step"] == "me"
    assert token_lines[0]["flow"] == flow.pk
    assert any(e["logger"] == "celery.apps.worker" and "ready" in e["message"] for e in entries)
    for secret in (SMTP_PASSWORD, api_standin.client_secret, *api_standin.issued):
        assert secret not in text


@pytest.mark.django_db(transaction=True)
def test_the_web_server_and_beat_write_only_json(tmp_path, admin_user):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    output = tmp_path / "web.log"
    web = web_server(
        port, output, DATABASE_URL=database_url(), SLUICE_LOG_FORMAT="json", SLUICE_LOG_LEVEL="info"
    )
    try:
        web.start()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as browser:
            assert browser.get("/healthz").status_code == 200
            form = browser.get("/login/")
            assert form.status_code == 200, (form.status_code, form.text[:300], form.headers)
            token = form.cookies["csrftoken"]
            login = {
                "username": admin_user.email,
                "password": "wrong-Xq93",
                "csrfmiddlewaretoken": token,
            }
            browser.post("/login/", data=login, headers={"X-Request-ID": "login-try-0001"})
            assert browser.get("/vault/").status_code == 302  # not signed in
    finally:
        web.stop()
    text = output.read_text()
    entries = json_lines(text)
    [audit] = [e for e in entries if e["logger"] == "sluice.audit"]
    assert audit["request"] == "login-try-0001"
    access = [e for e in entries if e["logger"] == "sluice.access"]
    assert [(e["method"], e["path"], e["status"]) for e in access] == [
        ("GET", "/healthz", 200),
        ("GET", "/login/", 200),
        ("POST", "/login/", 200),
        ("GET", "/vault/", 302),
    ]
    assert access[2]["request"] == "login-try-0001" and len(access[0]["request"]) == 32
    assert "wrong-Xq93" not in text

    beat_log = tmp_path / "beat.log"
    env = {**Workers(SLUICE_LOG_FORMAT="json", SLUICE_LOG_LEVEL="info").env}
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "sluice",
        "beat",
        "-s",
        str(tmp_path / "schedule"),
    ]
    with beat_log.open("ab") as sink:
        beat = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(lambda: "beat: Starting" in beat_log.read_text(), timeout=60)
    finally:
        beat.kill()
        beat.wait()
    beat_entries = json_lines(beat_log.read_text())
    assert any(e["logger"] == "celery.beat" for e in beat_entries)
