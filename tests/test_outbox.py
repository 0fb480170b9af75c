"""The outbox: an email and phone provider that keeps every message instead of sending it,
checks it as a real provider would, and shows it on the Outbox page until its run is pruned."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flows_app.models import Flow, Run, StepRun
from flows_app.services import create_flow, publish_flow, start_run
from outbox_app.models import OutboxMessage
from outbox_app.store import MAX_BYTES
from tests.flow_helpers import run_steps, step
from vault_app.kinds import KINDS
from vault_app.kinds.outbox import DEFAULT_NUMBER, DEFAULT_SENDER
from vault_app.models import Connection, set_provider

GREETING = "<h1>Hi {{ context.user.name }}</h1><p>Your code is <b>{{ context.code }}</b>.</p>"
LONG = {"long": "x" * 1601}
INPUT = {"context": {"user": {"name": "Ada <Lovelace>"}, "code": "4711"}}


@pytest.fixture
def outbox(db):
    config = {f.name: f.default for f in KINDS["outbox"].fields if f.default is not None}
    connection = Connection.objects.create(kind="outbox", name="Outbox", config=config)
    set_provider("email", connection)
    set_provider("phone", connection)
    return connection


def email_step(**params):
    base = {"to": "ada@example.com", "subject": "Welcome, {{ context.code }}", "body": GREETING}
    return step("welcome", "SEND_EMAIL", **{**base, **params})


# Keeping messages -----------------------------------------------------------------------------


def test_an_email_is_kept_with_both_parts_and_its_headers_and_not_sent(outbox):
    run = run_steps(email_step(), input=INPUT)

    assert run.status == "succeeded", run.error
    assert run.steps.get().output == {"success": True}
    kept = OutboxMessage.objects.get()
    assert (kept.channel, kept.run_id, kept.step_id) == ("email", run.pk, "welcome")
    assert (kept.sender, kept.recipient, kept.subject) == (
        f"Sluice <{DEFAULT_SENDER}>",
        "ada@example.com",
        "Welcome, 4711",
    )
    assert kept.html == "<h1>Hi Ada &lt;Lovelace&gt;</h1><p>Your code is <b>4711</b>.</p>"
    assert kept.text == "Hi Ada <Lovelace>\n\nYour code is 4711.\n"
    headers = dict(kept.headers)
    assert headers["To"] == "ada@example.com"
    assert headers["Content-Type"].startswith("multipart/alternative")
    assert {"Date", "Message-ID", "MIME-Version"} <= set(headers)
    assert kept.size > len(kept.html)


def test_a_custom_sender_is_kept_as_the_email_would_carry_it(outbox):
    run_steps(email_step(**{"from": {"email": "team@acme.example", "name": "Acme team"}}))

    assert OutboxMessage.objects.get().sender == "Acme team <team@acme.example>"


def test_a_text_is_kept_with_its_segments(outbox):
    message = "Grüße aus Köln!" * 11  # 165 GSM-7 characters: two segments
    run = run_steps(step("text", "SEND_SMS", to="+1 (415) 555-0123", message=message))

    assert run.steps.get().output == {"success": True}
    kept = OutboxMessage.objects.get()
    assert (kept.channel, kept.sender, kept.recipient) == ("sms", DEFAULT_NUMBER, "+14155550123")
    assert kept.details == {"length": 165, "segments": 2, "encoding": "GSM-7"}
    assert kept.text == message


def test_a_call_is_kept_with_what_it_would_say(outbox):
    run_steps(
        step("call", "MAKE_CALL", **{"from": "+14155550100"}, to="+14155550123", message="Hi <Ada>")
    )

    kept = OutboxMessage.objects.get()
    assert (kept.channel, kept.sender, kept.text) == ("call", "+14155550100", "Hi <Ada>")
    assert kept.details["twiml"] == "<Response><Say>Hi &lt;Ada&gt;</Say></Response>"


@pytest.mark.parametrize(
    ("action", "params", "says"),
    [
        ("SEND_EMAIL", {"to": "not an address"}, "is not one valid email address"),
        ("SEND_EMAIL", {"subject": "Hi\nBcc: all@example.com"}, "line break"),
        ("SEND_SMS", {"to": "555-0123", "message": "Hi"}, "not a valid phone number"),
        ("SEND_SMS", {"to": "+14155550123", "message": "{{ context.long }}"}, "at most 1,600"),
        ("MAKE_CALL", {"to": "+1", "message": "Hi"}, "not a valid phone number"),
    ],
)
def test_what_a_provider_would_refuse_fails_the_step_and_keeps_nothing(
    outbox, action, params, says
):
    base = (
        {"to": "ada@example.com", "subject": "Hi", "body": "<p>Hi</p>"} if "EMAIL" in action else {}
    )
    run = run_steps(step("notify", action, **{**base, **params}), input={"context": LONG})

    record = run.steps.get()
    assert record.status == StepRun.Status.FAILED
    assert says in record.error
    assert not OutboxMessage.objects.exists()


def test_a_message_too_large_is_refused_with_the_limit_and_not_kept(outbox):
    big = {"context": {"essay": "word " * (MAX_BYTES // 4)}}

    run = run_steps(email_step(body="<p>{{ context.essay }}</p>"), input=big)

    record = run.steps.get()
    assert record.status == StepRun.Status.FAILED
    assert "the outbox keeps messages of up to 256 KB, so it was not kept" in record.error
    assert not OutboxMessage.objects.exists()


def test_without_the_outbox_as_provider_nothing_is_kept(db):
    run = run_steps(email_step())

    assert "No email provider is configured" in run.steps.get().error
    assert not OutboxMessage.objects.exists()


def test_the_outbox_is_offered_as_both_providers(admin_client, outbox):
    set_provider("email", None)
    response = admin_client.post("/vault/providers/", {"email": outbox.pk, "phone": outbox.pk})

    assert response.status_code == 302
    page = admin_client.get("/vault/").content.decode()
    assert page.count(f'<option value="{outbox.pk}" selected>Outbox</option>') == 2


# The Outbox page ------------------------------------------------------------------------------


def kept_in_two_runs(outbox) -> tuple[Run, Run]:
    first = run_steps(email_step(to="ada@example.com"), input=INPUT)
    second = run_steps(
        email_step(to="grace@example.com"),
        step("text", "SEND_SMS", to="+14155550123", message="Hi"),
        input=INPUT,
    )
    return first, second


def test_editors_see_the_messages_newest_first_each_linked_to_its_step(editor_client, outbox):
    first, second = kept_in_two_runs(outbox)

    page = editor_client.get("/outbox/").content.decode()

    rows = [page.index(f'id="message-{m.pk}"') for m in OutboxMessage.objects.order_by("-pk")]
    assert rows == sorted(rows)
    assert f'href="/runs/{second.pk}/#step-{second.pk}-text"' in page
    assert f'href="/runs/{first.pk}/#step-{first.pk}-welcome"' in page
    assert "Welcome, 4711" in page


def test_the_list_filters_by_run_and_by_recipient(editor_client, outbox):
    first, second = kept_in_two_runs(outbox)

    by_run = editor_client.get("/outbox/", {"run": second.pk}).content.decode()
    by_recipient = editor_client.get("/outbox/", {"to": "GRACE@"}).content.decode()
    none = editor_client.get("/outbox/", {"to": "nobody"}).content.decode()
    bad = editor_client.get("/outbox/", {"run": "abc"})

    assert "grace@example.com" in by_run and "+14155550123" in by_run
    assert "ada@example.com" not in by_run
    assert "grace@example.com" in by_recipient and "+14155550123" not in by_recipient
    assert "No messages match these filters." in none
    assert bad.status_code == 200 and "Enter a whole number." in bad.content.decode()


def test_the_list_costs_the_same_queries_for_many_messages(editor_client, outbox):
    def queries_for_the_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert editor_client.get("/outbox/").status_code == 200
        return len(captured)

    kept_in_two_runs(outbox)
    few = queries_for_the_list()
    for _ in range(30):
        run_steps(email_step())

    assert OutboxMessage.objects.count() == 33
    assert queries_for_the_list() == few


def test_an_email_shows_its_html_in_a_sandboxed_frame(editor_client, outbox):
    run_steps(email_step(body="<p>Hi</p><script>alert('x')</script>"))
    kept = OutboxMessage.objects.get()

    page = editor_client.get(f"/outbox/{kept.pk}/").content.decode()

    assert (
        '<iframe class="message-frame" sandbox="" srcdoc="&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;'
        in page
    )
    assert "<script>alert" not in page
    assert "Message-ID" in page


def test_viewers_may_not_open_the_outbox(viewer_client, client, outbox):
    run_steps(email_step())
    pk = OutboxMessage.objects.get().pk

    assert viewer_client.get("/outbox/").status_code == 403
    assert viewer_client.get(f"/outbox/{pk}/").status_code == 403
    assert client.get("/outbox/")["Location"].startswith("/login/")
    assert "Outbox" not in viewer_client.get("/flows/").content.decode()


# Pruning ---------------------------------------------------------------------------------------


def test_messages_go_when_their_run_is_pruned_or_deleted_with_its_flow(outbox, capsys):
    old, recent = kept_in_two_runs(outbox)
    Run.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    third = run_steps(email_step(to="cy@example.com"), name="Deleted later")
    Flow.objects.filter(pk=third.flow_id).delete()

    call_command("prune_runs", "--days", "30")

    assert set(OutboxMessage.objects.values_list("run_id", flat=True)) == {recent.pk}


def test_with_retention_off_only_the_messages_of_deleted_runs_go(outbox, settings):
    settings.RUN_RETENTION_DAYS = 0
    kept = run_steps(email_step())
    gone = run_steps(email_step(), name="Deleted later")
    Flow.objects.filter(pk=gone.flow_id).delete()
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(days=400))

    call_command("prune_runs")

    assert list(OutboxMessage.objects.values_list("run_id", flat=True)) == [kept.pk]


def test_a_queued_run_of_a_published_flow_keeps_its_message(
    outbox, editor_user, django_capture_on_commit_callbacks
):
    flow = create_flow(
        name="Notify",
        definition={"schema_version": 1, "actions": [email_step()]},
        owner=editor_user,
    )
    publish_flow(flow, editor_user)

    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(flow, trigger=Run.Trigger.MANUAL, input=INPUT, user=editor_user)

    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert OutboxMessage.objects.get().run_id == run.pk
