"""Run and wait: ``POST /api/flows/<id>/runs`` with ``Prefer: wait=N`` answers with the
finished run, in-process and through real workers (woken by the channel layer in the
production pass, by the embedded poller otherwise)."""

import asyncio
import gc
import json
import logging
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.test import Client

from flows_app import events, waiting
from flows_app.api_auth import create_token
from flows_app.models import Run
from flows_app.services import create_flow, create_run, publish_flow
from sluice.celery import app
from sluice.routing import http_application
from tests.flow_helpers import email_provider, step
from tests.run_records import logic
from tests.workers import Workers, wait_until

ANSWER = logic("answer", "RETURN_JSON", payload={"plan": "{{ fields.plan }}", "ok": True})
REFUSE = logic("refuse", "ERROR_MESSAGE", message="No {{ fields.plan }} plans today.")
SLEEP = logic("sleep", "DELAY_FLOW", number=1, units="HOURS")


def published(*steps, name="Sign-up check"):
    flow = create_flow(name=name, definition={"schema_version": 1, "actions": list(steps)})
    publish_flow(flow)
    return flow, create_token(flow, name="Sign-up service")[1]


def start(flow, token, *, prefer=None, query="", body=None):
    headers = {"Authorization": f"Bearer {token}"}
    if prefer is not None:
        headers["Prefer"] = prefer
    return Client().post(
        f"/api/flows/{flow.pk}/runs{query}",
        json.dumps(body if body is not None else {"fields": {"plan": "gold"}}),
        content_type="application/json",
        headers=headers,
    )


def test_a_caller_that_waits_gets_the_finished_run_and_its_result(transactional_db):
    flow, token = published(ANSWER)
    response = start(flow, token, prefer="respond-async, wait=10")
    assert response.status_code == 200
    assert response["Preference-Applied"] == "wait=10"
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    run = Run.objects.get()
    assert body["id"] == run.pk and body["final"] is True
    assert body["status"] == "succeeded"
    assert body["result"] == {"plan": "gold", "ok": True}
    assert [(s["step_id"], s["status"]) for s in body["steps"]] == [("answer", "succeeded")]
    assert body == Client().get(f"/api/runs/{run.pk}", headers=auth(token)).json()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_wait_may_be_asked_in_the_query_by_clients_that_cannot_set_headers(transactional_db):
    flow, token = published(ANSWER)
    response = start(flow, token, query="?wait=5")
    assert response.status_code == 200
    assert response["Preference-Applied"] == "wait=5"
    assert response.json()["result"] == {"plan": "gold", "ok": True}


def test_a_flow_that_ends_with_an_error_message_answers_with_its_text(transactional_db):
    flow, token = published(REFUSE)
    body = start(flow, token, prefer="wait=10").json()
    assert body["status"] == "failed" and body["final"] is True
    assert body["error_message"] == "No gold plans today."
    assert body["error"].endswith("failed: No gold plans today.")
    assert body["result"] is None


def test_without_a_wait_the_answer_is_202_as_before(transactional_db):
    flow, token = published(ANSWER)
    for prefer in (None, "wait=0", "respond-async"):
        response = start(flow, token, prefer=prefer)
        assert response.status_code == 202
        assert "Preference-Applied" not in response
        assert set(response.json()) == {"id", "status", "url", "api_url", "flow", "version"}


@pytest.mark.parametrize("wait", ["abc", "-1", "61", "1.5", "3600", "", "١"])
def test_a_wait_that_is_not_a_whole_number_up_to_60_is_refused(transactional_db, wait):
    flow, token = published(ANSWER)
    asked = (start(flow, token, prefer=f"wait={wait}"), start(flow, token, query=f"?wait={wait}"))
    for response in asked:
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_input"
        assert "from 0 to 60" in response.json()["message"]
    assert not Run.objects.exists()


def test_a_bad_wait_from_a_caller_without_a_token_is_still_a_401(transactional_db):
    flow, _ = published(ANSWER)
    assert start(flow, "slt_" + "x" * 43, prefer="wait=abc").status_code == 401


def test_a_run_that_reaches_a_delay_answers_at_once_with_its_waiting_status(transactional_db):
    flow, token = published(SLEEP, ANSWER)
    began = time.monotonic()
    response = start(flow, token, prefer="wait=60")
    assert time.monotonic() - began < 60, "it waited out the whole wait"
    assert response.status_code == 202
    assert response["Preference-Applied"] == "wait=60"
    body = response.json()
    assert body["status"] == "waiting" and body["final"] is False
    assert body["resume_at"] is not None
    assert response["Location"] == body["api_url"]


# Through real workers ----------------------------------------------------------------------


@pytest.fixture
def workers(settings):
    pool = Workers()
    app.conf.task_always_eager = False
    app.conf.task_default_queue = pool.queue
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
    return step(step_id, "SEND_EMAIL", to=to, subject="Welcome", body="<p>Hi</p>")


@pytest.mark.django_db(transaction=True)
def test_a_worker_s_run_wakes_the_waiting_caller_when_it_ends(workers, mail):
    workers.start()
    flow, token = published(mail_step("welcome", "ada@example.com"), ANSWER)
    response = start(flow, token, prefer="wait=60")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "succeeded" and body["result"] == {"plan": "gold", "ok": True}
    assert [s["status"] for s in body["steps"]] == ["succeeded", "succeeded"]
    assert len(mail.messages) == 1
    assert body == Client().get(f"/api/runs/{body['id']}", headers=auth(token)).json()


@pytest.mark.django_db(transaction=True)
def test_a_run_still_going_when_the_wait_is_over_answers_202(workers, mail):
    mail.slow_recipients = {"slow@example.com"}
    workers.start()
    flow, token = published(mail_step("slow", "slow@example.com"), ANSWER)
    response = start(flow, token, prefer="wait=1")
    assert response.status_code == 202
    assert response["Preference-Applied"] == "wait=1"
    body = response.json()
    assert body["final"] is False and body["status"] in ("queued", "running")
    assert wait_until(lambda: Run.objects.get(pk=body["id"]).status == "succeeded", timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_caller_that_hangs_up_mid_wait_changes_nothing_for_the_run(workers, mail):
    mail.slow_recipients = {"slow@example.com"}
    workers.start()
    flow, token = published(mail_step("slow", "slow@example.com"), ANSWER)
    sent = in_a_loop_of_its_own(hang_up_while_waiting, server(), flow, token)
    assert not any(m["type"] == "http.response.start" for m in sent)
    assert wait_until(lambda: Run.objects.filter(status="succeeded").exists(), timeout=60)
    run = Run.objects.get()
    assert [s.status for s in run.steps.all()] == ["succeeded", "succeeded"]
    assert run.result == {"plan": "gold", "ok": True}
    assert len(mail.messages) == 1


async def hang_up_while_waiting(application, flow, token) -> list[dict]:
    """Call the ASGI application as a server would, and hang up once the run exists."""
    hung_up = asyncio.Event()
    asked = False

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b'{"fields": {"plan": "gold"}}'}
        await hung_up.wait()
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    call = asyncio.ensure_future(application(scope_of(flow, token, wait=60), receive, send))
    while not (call.done() or await sync_to_async(Run.objects.filter(status="running").exists)()):
        await asyncio.sleep(0.05)
    hung_up.set()
    await call
    return sent


def in_a_loop_of_its_own(scenario, *args):
    """Run an async scenario as a server runs it: in an event loop of its own thread, where
    Django's synchronous work goes to threads of its choosing (from the test's thread,
    async_to_sync would send it back to this one)."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = asyncio.run(scenario(*args))
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name="asgi-server")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def server():
    """What daphne serves (sluice.asgi, without its start-up checks): HTTP through Django,
    the API through its own handler."""
    return http_application(ASGIHandler())


def scope_of(flow, token, wait: int) -> dict:
    path = f"/api/flows/{flow.pk if flow else 0}/runs"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"prefer", f"wait={wait}".encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


@pytest.mark.django_db(transaction=True)
def test_waiting_callers_hold_no_thread_each(settings):
    """Ten callers wait on runs no worker takes; the process gains no thread per caller (Django's
    own handler would give each its own, idle until it answers)."""
    app.conf.task_always_eager = False
    flow, token = published(ANSWER)
    answers = in_a_loop_of_its_own(wait_together, server(), flow, token, 10)
    assert [a["status"] for a in answers] == [202] * 10
    assert answers[0]["gained"] < 5, f"{answers[0]['gained']} threads for 10 waiting callers"


async def wait_together(application, flow, token, callers) -> list[dict]:
    before = threading.active_count()
    counted = 0

    async def call() -> dict:
        statuses: list[int] = []

        async def receive():
            if not statuses:
                statuses.append(0)
                return {"type": "http.request", "body": b"{}"}
            await asyncio.Event().wait()  # the caller never hangs up

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await application(scope_of(flow, token, wait=3), receive, send)
        return {"status": statuses[-1], "gained": counted}

    calls = [asyncio.ensure_future(call()) for _ in range(callers)]
    while await sync_to_async(Run.objects.count)() < callers:
        await asyncio.sleep(0.05)
    counted = threading.active_count() - before
    return list(await asyncio.gather(*calls))


@pytest.mark.django_db(transaction=True)
def test_the_api_s_own_handler_names_each_request_and_logs_its_answer(caplog):
    async def ask(application):
        sent: list[dict] = []
        asked = []

        async def receive():
            if asked:
                await asyncio.Event().wait()  # the caller stays until answered
            asked.append(True)
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        scope = {**scope_of(None, "", wait=0), "method": "GET", "path": "/api/runs/1"}
        scope["headers"] = [(b"host", b"testserver"), (b"x-request-id", b"probe-1234-abcd")]
        await application(scope, receive, send)
        return sent[0]

    application = server()
    with caplog.at_level(logging.INFO, logger="sluice.access"):
        start = in_a_loop_of_its_own(ask, application)
    assert start["status"] == 401
    assert (b"x-request-id", b"probe-1234-abcd") in [(k.lower(), v) for k, v in start["headers"]]
    access = [r.getMessage().split()[:3] for r in caplog.records if r.name == "sluice.access"]
    assert access == [["GET", "/api/runs/1", "401"]]


@pytest.mark.skipif(
    not django_settings.CHANNEL_LAYER_URL, reason="needs a shared channel layer (Redis)"
)
@pytest.mark.django_db(transaction=True)
def test_callers_are_woken_by_the_announcement_of_their_own_run_s_end():
    """The database keeps saying "running": only the announcement can wake the callers."""
    flow, _token = published(ANSWER)
    runs = [create_run(flow, trigger=Run.Trigger.API, draft=True) for _ in range(2)]
    Run.objects.filter(pk__in=[r.pk for r in runs]).update(status=Run.Status.RUNNING)
    announced, other = runs
    woken = in_a_loop_of_its_own(announce_until_woken, announced.pk, other.pk)
    assert woken == {"announced": [True, True, True], "other": False}


async def announce_until_woken(run_id: int, other_id: int) -> dict:
    asked_at = time.monotonic()
    callers = [asyncio.ensure_future(waiting.wait_for_end(run_id, 30, asked_at)) for _ in range(3)]
    other = asyncio.ensure_future(waiting.wait_for_end(other_id, 3, asked_at))
    end = {"type": events.EVENT_TYPE, "run": run_id, "status": "succeeded", "step": None}
    deadline = time.monotonic() + 30
    # Until the listener has subscribed, an announcement goes unheard: announce again.
    while not all(caller.done() for caller in callers) and time.monotonic() < deadline:
        await sync_to_async(events.publish)(end)
        await asyncio.wait(callers, timeout=0.2)
    woken = {"announced": list(await asyncio.gather(*callers)), "other": await other}
    await sync_to_async(connections.close_all)()  # those of the thread the looks ran in
    return woken


@pytest.mark.django_db(transaction=True)
def test_waiting_from_one_event_loop_after_another_keeps_none_of_them_alive():
    flow, _token = published(ANSWER)
    run = create_run(flow, trigger=Run.Trigger.API, draft=True)  # queued, and it stays so
    before = closed_loops()
    for _ in range(5):
        assert in_a_loop_of_its_own(wait_briefly, run.pk) is False
    assert closed_loops() <= before + 1  # at most the last one, until another loop waits


async def wait_briefly(run_id: int) -> bool:
    ended = await waiting.wait_for_end(run_id, 0.05, time.monotonic())
    await sync_to_async(connections.close_all)()  # those of the thread the look ran in
    return ended


def closed_loops() -> int:
    gc.collect()
    return sum(isinstance(o, asyncio.AbstractEventLoop) and o.is_closed() for o in gc.get_objects())
