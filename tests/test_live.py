"""Live run progress: run_changed after commit, and the websocket consumers.

The polling path (no shared channel layer) is tested in tests/test_runs.py through the
partials. The socket tests that need Redis run in the production pass of bin/test, where
SLUICE_CHANNEL_LAYER_URL is set; the others run in both passes.
"""

import logging
import threading

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connections, transaction
from django.test import Client

from flows_app import events
from flows_app.models import Run
from flows_app.services import create_flow, create_run, start_run
from sluice.routing import websocket_urlpatterns
from tests.flow_helpers import phone_provider, step

needs_redis = pytest.mark.skipif(
    not django_settings.CHANNEL_LAYER_URL,
    reason="needs a shared channel layer: set SLUICE_CHANNEL_LAYER_URL to a Redis URL "
    "(bin/test does in its production pass)",
)


def sms_flow():
    return create_flow(
        name="Texts",
        definition={
            "schema_version": 1,
            "actions": [
                step("hello", "SEND_SMS", to="+14155550123", message="Hello"),
                step("bye", "SEND_SMS", to="+14155550123", message="Bye"),
            ],
        },
    )


def run_async(scenario, *args):
    """Run an async scenario to its end from a thread of its own.

    Not from this thread: once a browser test ran, Playwright's sync API keeps an event loop
    here for the rest of the session, where async_to_sync refuses to run.
    """
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = async_to_sync(scenario)(*args)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name="websocket-test")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def application():
    """The websocket half of sluice.asgi (which also runs start-up checks on import)."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies['sessionid'].value}".encode()


def socket(path, cookie=None, origin=b"http://testserver") -> WebsocketCommunicator:
    """A browser's websocket; sign in first with ``session_cookie`` (it cannot be async)."""
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application(), path, headers=headers)


class FakeLayer:
    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    async def group_send(self, group, event):
        if self.fail:
            raise ConnectionError("Redis went away")
        self.sent.append((group, event))


# run_changed


def test_without_a_shared_layer_run_changed_sends_nothing(db, settings, monkeypatch):
    settings.CHANNEL_LAYER_URL = ""
    layer = FakeLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    events.run_changed(run)
    assert layer.sent == []


def test_run_changed_sends_to_the_run_and_the_list_once_committed(
    db, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CHANNEL_LAYER_URL = "redis://example.invalid:6379/0"
    layer = FakeLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.run_changed(run)
        assert layer.sent == []  # nothing before the commit
    assert len(callbacks) == 1
    event = {
        "type": "run.changed",
        "run": run.pk,
        "flow": run.flow_id,
        "status": "queued",
        "step": None,
        "step_status": None,
    }
    assert layer.sent == [(f"run-{run.pk}", event), ("runs", event)]


def test_a_rolled_back_change_is_never_announced(transactional_db, settings, monkeypatch):
    settings.CHANNEL_LAYER_URL = "redis://example.invalid:6379/0"
    layer = FakeLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        events.run_changed(run)
        raise RuntimeError("rolled back")
    assert layer.sent == []


def test_a_broker_hiccup_is_logged_and_never_fails_the_run(
    db, settings, monkeypatch, twilio_standin, django_capture_on_commit_callbacks, caplog
):
    settings.CHANNEL_LAYER_URL = "redis://example.invalid:6379/0"
    monkeypatch.setattr(events, "get_channel_layer", lambda: FakeLayer(fail=True))
    phone_provider(twilio_standin)
    with (
        caplog.at_level(logging.WARNING, logger="flows_app.events"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = start_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert len(twilio_standin.messages) == 2
    warnings = [r for r in caplog.records if r.name == "flows_app.events"]
    assert warnings and f"Could not announce a change of run {run.pk}" in warnings[0].message


# The consumers


def test_an_anonymous_socket_is_refused(transactional_db):
    async def connect(path):
        communicator = socket(path)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert run_async(connect, "/ws/runs/") == (False, 4403)
    assert run_async(connect, "/ws/runs/1/") == (False, 4403)


def test_a_socket_from_another_site_is_refused(transactional_db, editor_user):
    cookie = session_cookie(editor_user)

    async def connect(origin):
        communicator = socket("/ws/runs/", cookie, origin=origin)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert run_async(connect, b"https://evil.example") is False
    assert run_async(connect, b"http://testserver") is True


async def receive_for(communicator, run_id, timeout=5):
    """The next event about ``run_id`` (another suite may share the Redis database)."""
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        if event["run"] == run_id:
            return event


@needs_redis
def test_an_event_reaches_the_runs_socket_after_commit(transactional_db, editor_user):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    other = create_run(run.flow, trigger=Run.Trigger.MANUAL, draft=True)
    cookie = session_cookie(editor_user)

    async def scenario():
        communicator = socket(f"/ws/runs/{run.pk}/", cookie)
        connected, _ = await communicator.connect()
        assert connected
        atomic = transaction.atomic()
        await sync_to_async(atomic.__enter__)()
        await sync_to_async(events.run_changed)(run)
        await sync_to_async(events.run_changed)(other)
        nothing_yet = await communicator.receive_nothing(timeout=0.3)
        await sync_to_async(atomic.__exit__)(None, None, None)
        event = await communicator.receive_json_from(timeout=5)
        after = await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return nothing_yet, event, after

    nothing_yet, event, after = run_async(scenario)
    assert nothing_yet, "the event was sent before the transaction committed"
    assert event == {
        "run": run.pk,
        "flow": run.flow_id,
        "status": "queued",
        "step": None,
        "step_status": None,
    }
    assert after, "the socket of one run heard about another run"


@needs_redis
def test_the_list_socket_follows_a_run_step_by_step(transactional_db, editor_user, twilio_standin):
    phone_provider(twilio_standin)
    flow = sms_flow()
    cookie = session_cookie(editor_user)

    async def scenario():
        communicator = socket("/ws/runs/", cookie)
        connected, _ = await communicator.connect()
        assert connected
        run = await sync_to_async(start_run)(flow, trigger=Run.Trigger.MANUAL, draft=True)
        heard = [await receive_for(communicator, run.pk)]
        while heard[-1]["status"] in ("queued", "running"):
            heard.append(await receive_for(communicator, run.pk))
        await communicator.disconnect()
        return run, heard

    run, heard = run_async(scenario)
    assert [(e["status"], e["step"], e["step_status"]) for e in heard] == [
        ("queued", None, None),
        ("running", None, None),
        ("running", "hello", "running"),
        ("running", "hello", "succeeded"),
        ("running", "bye", "running"),
        ("running", "bye", "succeeded"),
        ("succeeded", None, None),
    ]
    assert Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED


@needs_redis
def test_an_idle_socket_stays_open_and_still_hears_events(transactional_db, editor_user):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    cookie = session_cookie(editor_user)

    async def scenario():
        communicator = socket(f"/ws/runs/{run.pk}/", cookie)
        connected, _ = await communicator.connect()
        assert connected
        closed_early = not await communicator.receive_nothing(timeout=7, interval=0.5)
        await sync_to_async(events.run_changed)(run)
        event = None if closed_early else await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return closed_early, event

    closed_early, event = run_async(scenario)
    assert not closed_early, "the socket was closed while idle"
    assert event and event["run"] == run.pk


# Publishing over Redis


@needs_redis
def test_announcements_reach_redis_complete_and_in_order():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    listener = redis.Redis.from_url(django_settings.CHANNEL_LAYER_URL).pubsub()
    listener.subscribe(events.group_channel(events.run_group(424242)))
    listener.get_message(timeout=5)  # the subscription's confirmation
    announced = [
        {"type": events.EVENT_TYPE, "run": 424242, "status": "running", "step": f"s{n}"}
        for n in range(300)
    ]
    for event in announced:
        events.publish(event)
    heard = []
    while len(heard) < len(announced):
        message = listener.get_message(timeout=5)
        assert message is not None, f"only {len(heard)} of {len(announced)} arrived"
        heard.append(layer.deserialize(message["data"])["step"])
    listener.close()
    assert heard == [event["step"] for event in announced]


def step_listener(run):
    """A subscriber to the run's group on Redis; ``heard(n)`` returns the next n events as
    (step, step status)."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    listener = redis.Redis.from_url(django_settings.CHANNEL_LAYER_URL).pubsub()
    listener.subscribe(events.group_channel(events.run_group(run.pk)))
    listener.get_message(timeout=5)  # the subscription's confirmation

    def heard(count, timeout=5.0):
        found = []
        for _ in range(count):
            message = listener.get_message(timeout=timeout)
            if message is None:
                break
            event = layer.deserialize(message["data"])
            found.append((event["step"], event["step_status"]))
        return found

    return listener, heard


@needs_redis
def test_progress_goes_out_with_the_run_s_end_in_order(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    from flows_app.models import StepRun

    monkeypatch.setattr(events, "HOLD", 600.0)  # only the run's end sends it
    events.flush()  # nothing an earlier test held back is due to go out with it
    run = create_run(sms_flow(), trigger=Run.Trigger.API, draft=True)
    listener, heard = step_listener(run)
    run.status = Run.Status.RUNNING
    with django_capture_on_commit_callbacks(execute=True):
        events.run_changed(run)
        events.run_changed(run, StepRun(step_id="hello", status="running"))
        events.run_changed(run, StepRun(step_id="hello", status="succeeded"))
    assert heard(1, timeout=0.5) == []  # held back
    run.status = Run.Status.SUCCEEDED
    with django_capture_on_commit_callbacks(execute=True):
        events.run_changed(run)
    assert heard(4) == [
        (None, None),
        ("hello", "running"),
        ("hello", "succeeded"),
        (None, None),
    ]
    listener.close()


@needs_redis
def test_progress_goes_out_on_its_own_when_no_end_comes(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    from flows_app.models import StepRun

    monkeypatch.setattr(events, "HOLD", 0.05)
    run = create_run(sms_flow(), trigger=Run.Trigger.API, draft=True)
    listener, heard = step_listener(run)
    run.status = Run.Status.RUNNING
    with django_capture_on_commit_callbacks(execute=True):
        events.run_changed(run, StepRun(step_id="slow", status="running"))
    assert heard(1) == [("slow", "running")]  # while the step still runs
    with django_capture_on_commit_callbacks(execute=True):
        events.run_changed(run, StepRun(step_id="slow", status="succeeded"))
    events.flush()
    assert heard(1) == [("slow", "succeeded")]
    listener.close()
