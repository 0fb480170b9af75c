"""The flow page's Run form, the run list, the run page, run again and cancel."""

import json
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flows_app.models import Flow, Run, StepRun
from flows_app.services import create_flow, create_run, publish_flow, save_draft
from tests.flow_helpers import phone_provider, step
from tests.run_records import (
    SECRET_EXPECTED,
    SECRET_PIN,
    cancelled_waiting_run,
    masked_run,
    plan_run,
    waiting_run,
)

PHONE = "+14155550123"


def sms_flow(name="Texts", **step_params) -> Flow:
    params = {"to": "{{ context.user.phone }}", "message": "Hi {{ context.user.name }}"}
    return create_flow(
        name=name,
        description="Texts the user.",
        definition={"schema_version": 1, "actions": [step("text", "SEND_SMS", **params)]},
        test_data={"context": {"user": {"phone": PHONE, "name": "Ada"}}},
    )


def two_step_flow(name="Two texts") -> Flow:
    return create_flow(
        name=name,
        definition={
            "schema_version": 1,
            "actions": [
                step("first", "SEND_SMS", "Say hello", to=PHONE, message="Hello"),
                step("second", "SEND_SMS", to="{{ context.user.phone }}", message="Bye"),
            ],
        },
    )


def run_input(**user) -> str:
    return json.dumps({"context": {"user": {"phone": PHONE, **user}}})


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def phone(db, twilio_standin):
    phone_provider(twilio_standin)
    return twilio_standin


@pytest.fixture
def polling(settings):
    """The embedded default: no shared channel layer, so pages poll while runs are active."""
    settings.CHANNEL_LAYER_URL = ""


@pytest.fixture
def executes(django_capture_on_commit_callbacks):
    """Run what start_run queues (Celery is eager in tests) once the transaction commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# The flow page


def test_the_flow_page_shows_the_flow_its_versions_and_a_prefilled_run_form(
    editor_client, editor_user, phone
):
    flow = sms_flow()
    publish_flow(flow, user=editor_user)
    response = editor_client.get(f"/flows/{flow.pk}/")
    page = html(response)
    assert response.status_code == 200
    assert "Texts the user." in page
    assert re.search(r"<strong>v1</strong>(</a>)?\s*<span class=\"muted\">by Eddie", page)
    assert "&quot;phone&quot;: &quot;+14155550123&quot;" in page  # pretty-printed test data
    assert '\n  "context": {' in response.context["form"]["input"].value()
    assert "Latest published version (v1)" in page and "The draft" in page
    assert "Tokens for the HTTP API" not in page


def test_admins_get_a_link_to_the_flow_tokens(admin_client):
    flow = sms_flow()
    page = html(admin_client.get(f"/flows/{flow.pk}/"))
    assert f'href="/flows/{flow.pk}/tokens/"' in page
    assert "Tokens for the HTTP API" in page


def test_viewers_read_the_flow_page_without_a_run_form(viewer_client):
    flow = sms_flow()
    response = viewer_client.get(f"/flows/{flow.pk}/")
    assert response.status_code == 200
    assert "<textarea" not in html(response)
    assert "editors and admins run it" in html(response)


def test_an_unpublished_flow_runs_its_draft(editor_client, phone, executes):
    flow = sms_flow()
    page = html(editor_client.get(f"/flows/{flow.pk}/"))
    assert "no published version yet" in page and "Latest published version" not in page
    with executes():
        response = editor_client.post(
            f"/flows/{flow.pk}/", {"input": run_input(name="Bea"), "source": "draft"}
        )
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert (run.version, run.trigger, run.created_by.email) == (None, "manual", "eddie@example.com")
    assert run.input == {"context": {"user": {"phone": PHONE, "name": "Bea"}}}
    assert phone.messages[0]["body"] == "Hi Bea"


def test_editors_choose_the_published_version_or_the_draft(editor_client, editor_user, phone):
    flow = sms_flow()
    version = publish_flow(flow, user=editor_user)
    save_draft(
        flow, {"schema_version": 1, "actions": [step("t", "SEND_SMS", to=PHONE, message="x")]}
    )
    editor_client.post(f"/flows/{flow.pk}/", {"input": run_input(), "source": "published"})
    editor_client.post(f"/flows/{flow.pk}/", {"input": run_input(), "source": "draft"})
    published, draft = Run.objects.order_by("pk")
    assert published.version == version and published.definition == version.definition
    assert draft.version is None and draft.definition["actions"][0]["id"] == "t"


@pytest.mark.parametrize(
    "typed, message",
    [
        ('{"context": {"user": ', "This is not valid JSON: Expecting value (line 1, column 22)."),
        ("[1, 2]", "The input is a JSON object with context, fields, vars."),
        ('{"user": {}}', "Unknown key user: the input has only context, fields and vars."),
        ('{"vars": 3}', "vars must be a JSON object."),
        ('{"vars": ' + '{"a": ' * 500 + "1" + "}" * 501, "nests objects and lists more than 32"),
        ("[" * 100_000 + "]" * 100_000, "The input nests objects and lists more than 32 deep."),
        ('{"vars": {"a": "x\\u0000"}}', "cannot contain NUL characters"),
    ],
)
def test_bad_input_shows_the_form_again_with_the_typed_text(editor_client, typed, message):
    flow = sms_flow()
    response = editor_client.post(f"/flows/{flow.pk}/", {"input": typed, "source": "draft"})
    page = html(response)
    assert response.status_code == 200
    assert message in page
    assert response.context["form"]["input"].value() == typed
    assert not Run.objects.exists()


def test_a_flow_with_problems_lists_each_problem(editor_client):
    flow = create_flow(
        name="Broken",
        definition={
            "schema_version": 1,
            "actions": [step("a", "SEND_SMS", message="x"), step("b", "NO_SUCH_THING")],
        },
    )
    typed = run_input(name="Kept")
    response = editor_client.post(f"/flows/{flow.pk}/", {"input": typed, "source": "draft"})
    page = html(response)
    assert "This flow cannot run until its problems are fixed" in page
    problems = re.findall(r"<li>(.*?)</li>", page.split('class="problems"')[1].split("</ul>")[0])
    assert len(problems) >= 2
    assert any(p.startswith("a · ") for p in problems) and any(p.startswith("b") for p in problems)
    assert response.context["form"]["input"].value() == typed
    assert not Run.objects.exists()


# Permissions and CSRF


def test_viewers_cannot_run_cancel_or_run_again(viewer_client):
    flow = sms_flow()
    run = create_run(flow, trigger=Run.Trigger.MANUAL, draft=True)
    assert viewer_client.get(f"/runs/{run.pk}/").status_code == 200
    assert viewer_client.get("/runs/").status_code == 200
    body = {"input": run_input(), "source": "draft"}
    assert viewer_client.post(f"/flows/{flow.pk}/", body).status_code == 403
    assert viewer_client.post(f"/runs/{run.pk}/again/").status_code == 403
    assert viewer_client.post(f"/runs/{run.pk}/cancel/").status_code == 403
    assert Run.objects.get().status == Run.Status.QUEUED and Run.objects.count() == 1
    assert "Run again" not in html(viewer_client.get(f"/runs/{run.pk}/"))


def test_the_run_pages_need_a_sign_in(client, db):
    flow = sms_flow()
    run = create_run(flow, trigger=Run.Trigger.MANUAL, draft=True)
    for url in ("/runs/", f"/runs/{run.pk}/", f"/flows/{flow.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_every_form_needs_the_csrf_token(csrf_admin_client, phone):
    flow = sms_flow()
    run = create_run(flow, trigger=Run.Trigger.MANUAL, draft=True)
    posts = {
        f"/flows/{flow.pk}/": {"input": run_input(), "source": "draft"},
        f"/runs/{run.pk}/again/": {},
        f"/runs/{run.pk}/cancel/": {},
    }
    for url, data in posts.items():
        assert csrf_admin_client.post(url, data).status_code == 403, url
    assert Run.objects.count() == 1
    csrf_admin_client.get(f"/flows/{flow.pk}/")
    token = csrf_admin_client.cookies["csrftoken"].value
    for url, data in posts.items():
        response = csrf_admin_client.post(url, {**data, "csrfmiddlewaretoken": token})
        assert response.status_code == 302, url


# The run page


def test_the_run_page_shows_each_step_with_inputs_output_and_warnings(editor_client, phone):
    flow = create_flow(
        name="Greeting",
        definition={
            "schema_version": 1,
            "actions": [
                step("text", "SEND_SMS", "Text them", to=PHONE, message="Hi {{ context.who }}")
            ],
        },
    )
    from flows_app.engine import execute

    run = execute(create_run(flow, trigger=Run.Trigger.MANUAL, input={"vars": {}}, draft=True))
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    assert "Succeeded" in page and "draft" in page and "Run from the flow page" in page
    assert "<strong>Text them</strong>" in page and "<code>text</code> · Send SMS" in page
    assert '<dt>message</dt><dd><pre class="json">Hi </pre>' in page
    assert "context.who is undefined" in page
    assert '<details class="step-output" id="output-' in page
    assert "&quot;success&quot;: true" in page
    assert "&quot;vars&quot;: {}" in page  # the run's input


def test_a_failed_step_shows_the_vendors_error_body_and_the_steps_not_run(editor_client, phone):
    flow = two_step_flow()
    unsubscribed = {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}
    phone.force(f"/2010-04-01/Accounts/{phone.account_sid}/Messages.json", 400, unsubscribed)
    from flows_app.engine import execute

    run = execute(create_run(flow, trigger=Run.Trigger.MANUAL, input={}, draft=True))
    assert run.status == Run.Status.FAILED
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    assert "The vendor answered:" in page and "&quot;code&quot;: 21610" in page
    assert "HTTP 400" in page
    assert re.search(r'id="step-\d+-second">.*?Not run', page, re.S)
    assert "Step first (Say hello) failed" in page
    row = html(editor_client.get("/runs/")).split(f'id="run-row-{run.pk}"')[1]
    assert "<code>first</code>" in row.split("</tr>")[0]


def test_a_running_run_polls_and_a_final_one_does_not(editor_client, polling):
    run = create_run(two_step_flow(), trigger=Run.Trigger.MANUAL, input={}, draft=True)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, started_at=timezone.now())
    StepRun.objects.create(
        run=run, step_id="first", action_type="AUTH0/SEND_SMS", position=0,
        status=StepRun.Status.SUCCEEDED, output={"success": True}, duration_ms=12,
    )  # fmt: skip
    partial = editor_client.get(f"/runs/{run.pk}/", headers={"HX-Request": "true"})
    fragment = html(partial)
    assert fragment.lstrip().startswith(f'<div id="run-{run.pk}"')
    assert "<html" not in fragment
    assert f'hx-get="/runs/{run.pk}/" hx-trigger="every 2s" hx-swap="outerHTML"' in fragment
    assert "Pending" in fragment and "12 ms" in fragment
    assert partial["Vary"] and "HX-Request" in partial["Vary"]

    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED, finished_at=timezone.now())
    fragment = html(editor_client.get(f"/runs/{run.pk}/", headers={"HX-Request": "true"}))
    assert 'id="run-' in fragment and "hx-trigger" not in fragment
    assert "data-live-done" in fragment


def test_a_history_restore_gets_the_whole_page(editor_client):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in html(editor_client.get(f"/runs/{run.pk}/", headers=headers))


def test_with_a_shared_channel_layer_pages_listen_instead_of_polling(editor_client, settings):
    settings.CHANNEL_LAYER_URL = "redis://127.0.0.1:6379/15"
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    assert f'data-live-socket="/ws/runs/{run.pk}/" data-live-target="#run-{run.pk}"' in page
    assert "js/live.js" in page and "hx-trigger" not in page
    page = html(editor_client.get("/runs/"))
    assert 'data-live-socket="/ws/runs/" data-live-target="#runs"' in page
    assert "hx-trigger" not in page


def test_without_one_pages_do_not_load_the_socket_script(editor_client, polling):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    for url in (f"/runs/{run.pk}/", "/runs/"):
        page = html(editor_client.get(url))
        assert "data-live-socket" not in page and "live.js" not in page


# Run again and cancel


def test_run_again_uses_the_same_input_and_choice(editor_client, editor_user, phone, executes):
    flow = sms_flow()
    publish_flow(flow, user=editor_user)
    first = create_run(flow, trigger=Run.Trigger.API, input=json.loads(run_input(name="Cy")))
    with executes():
        response = editor_client.post(f"/runs/{first.pk}/again/")
    again = Run.objects.exclude(pk=first.pk).get()
    assert response["Location"] == f"/runs/{again.pk}/"
    assert (again.input, again.version, again.trigger) == (first.input, first.version, "manual")
    assert again.status == Run.Status.SUCCEEDED
    draft_run = create_run(flow, trigger=Run.Trigger.TEST, draft=True)
    editor_client.post(f"/runs/{draft_run.pk}/again/")
    assert Run.objects.order_by("-pk").first().version is None


def test_run_again_of_a_flow_that_now_has_problems_says_why(editor_client):
    flow = sms_flow()
    run = create_run(flow, trigger=Run.Trigger.MANUAL, draft=True)
    save_draft(flow, {"schema_version": 1, "actions": [step("x", "SEND_SMS")]})
    response = editor_client.post(f"/runs/{run.pk}/again/", follow=True)
    assert "Texts cannot run: x · " in html(response)
    assert Run.objects.count() == 1


def test_cancelling_a_queued_run_cancels_it_at_once(editor_client):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    response = editor_client.post(f"/runs/{run.pk}/cancel/", follow=True)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.cancelled_by.email == "eddie@example.com"
    page = html(response)
    assert f"Cancelled run {run.pk} before it started." in page
    assert "Cancel run" not in page


def test_cancelling_a_running_run_says_it_stops_before_its_next_step(editor_client):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, started_at=timezone.now())
    assert "Cancel run" in html(editor_client.get(f"/runs/{run.pk}/"))
    page = html(editor_client.post(f"/runs/{run.pk}/cancel/", follow=True))
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING and run.cancel_requested_at
    assert "Cancelling: stops before its next step." in page
    assert "Cancel run" not in page


def test_cancelling_a_finished_run_changes_nothing(editor_client):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
    page = html(editor_client.post(f"/runs/{run.pk}/cancel/", follow=True))
    assert f"Run {run.pk} had already finished." in page
    assert Run.objects.get().status == Run.Status.SUCCEEDED


# The flow list


def test_the_flow_list_links_each_flow_and_shows_its_last_run(
    editor_client, django_assert_max_num_queries
):
    texts, quiet = sms_flow(), sms_flow("Quiet")
    create_run(texts, trigger=Run.Trigger.MANUAL, draft=True)
    last = create_run(texts, trigger=Run.Trigger.MANUAL, draft=True)
    Run.objects.filter(pk=last.pk).update(status=Run.Status.FAILED)
    with django_assert_max_num_queries(3):
        page = html(editor_client.get("/flows/"))
    assert f'<a href="/flows/{texts.pk}/"><strong>Texts</strong></a>' in page
    row = page.split(f'id="flow-{texts.pk}"')[1].split("</tr>")[0]
    assert f'href="/runs/{last.pk}/"' in row and "status-failed" in row and "Failed" in row
    assert "Never run" in page.split(f'id="flow-{quiet.pk}"')[1].split("</tr>")[0]


# The run list


def make_runs(flows, count, **fields):
    """bulk_create ``count`` runs spread over the flows, statuses and triggers."""
    statuses, triggers = list(Run.Status), list(Run.Trigger)
    return Run.objects.bulk_create(
        Run(
            flow=flows[n % len(flows)],
            definition={"schema_version": 1, "actions": []},
            status=statuses[n % len(statuses)],
            trigger=triggers[n % len(triggers)],
            **fields,
        )
        for n in range(count)
    )


def listed_ids(response) -> list[int]:
    return [run.pk for run in response.context["runs"]]


def test_the_run_list_filters_by_flow_status_trigger_and_dates(editor_client):
    texts, other = sms_flow(), sms_flow("Other")
    make_runs([texts, other], 20)
    old = Run.objects.filter(flow=texts).order_by("pk")[:2]
    Run.objects.filter(pk__in=[r.pk for r in old]).update(
        created_at=timezone.now() - timedelta(days=10)
    )

    def ids(**query):
        response = editor_client.get("/runs/", query)
        assert response.status_code == 200
        return set(listed_ids(response))

    assert len(ids()) == 20
    assert ids(flow=texts.pk) == set(Run.objects.filter(flow=texts).values_list("pk", flat=True))
    assert ids(status="failed") == set(
        Run.objects.filter(status="failed").values_list("pk", flat=True)
    )
    assert ids(trigger="api", flow=other.pk) == set(
        Run.objects.filter(trigger="api", flow=other).values_list("pk", flat=True)
    )
    ten_days_ago = (timezone.localdate() - timedelta(days=10)).isoformat()
    assert ids(**{"from": ten_days_ago, "to": ten_days_ago}) == {r.pk for r in old}
    assert len(ids(**{"from": timezone.localdate().isoformat()})) == 18
    page = html(editor_client.get("/runs/", {"status": "failed", "flow": 999, "from": "soon"}))
    assert "Enter a valid date." in page and "Select a valid choice" in page


def test_the_run_list_pages_with_a_fixed_number_of_queries(
    editor_client, django_assert_max_num_queries
):
    """2,000 runs: page 1, deep pages and every filter cost the same few queries."""
    flows = [sms_flow(f"Flow {n}") for n in range(4)]
    runs = make_runs(flows, 2000)
    failed = [r for r in runs if r.status == Run.Status.FAILED]
    StepRun.objects.bulk_create(
        StepRun(run=r, step_id="text", action_type="AUTH0/SEND_SMS", position=0, status="failed")
        for r in failed
    )
    counts = []

    def visit(url, query=None):
        with CaptureQueriesContext(connection) as queries:
            response = editor_client.get(url, query)
        assert response.status_code == 200
        counts.append(len(queries))
        return response

    with django_assert_max_num_queries(5):
        response = visit("/runs/")
    seen = listed_ids(response)
    for _ in range(15):  # walk 15 pages back
        older = response.context["older_url"]
        response = visit(older)
        seen += listed_ids(response)
    assert len(seen) == len(set(seen)) == 16 * 50
    assert seen == sorted(seen, reverse=True)  # created in pk order: newest first
    newer = visit(response.context["newer_url"])
    assert listed_ids(newer) == seen[-100:-50]
    for query in ({"flow": flows[1].pk}, {"status": "failed"}, {"trigger": "cli"},
                  {"from": timezone.localdate().isoformat(), "status": "succeeded"}):  # fmt: skip
        first = visit("/runs/", query)
        visit(first.context["older_url"])
    assert max(counts) <= 5, counts
    assert "<code>text</code>" in html(visit("/runs/", {"status": "failed"}))


def test_the_run_list_keeps_ties_in_order_across_pages(editor_client):
    """Runs created in the same microsecond are still paged without gaps or repeats."""
    runs = make_runs([sms_flow()], 120)
    Run.objects.update(created_at=timezone.now())
    response = editor_client.get("/runs/")
    seen = listed_ids(response)
    while response.context["older_url"]:
        response = editor_client.get(response.context["older_url"])
        seen += listed_ids(response)
    assert seen == sorted((r.pk for r in runs), reverse=True)


def test_the_run_list_polls_only_while_a_listed_run_is_active(editor_client, polling):
    run = create_run(sms_flow(), trigger=Run.Trigger.MANUAL, draft=True)
    fragment = html(editor_client.get("/runs/?status=queued", headers={"HX-Request": "true"}))
    assert fragment.lstrip().startswith('<section id="runs"')
    assert 'hx-get="/runs/?status=queued" hx-trigger="every 2s"' in fragment
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
    fragment = html(editor_client.get("/runs/", headers={"HX-Request": "true"}))
    assert "hx-trigger" not in fragment


def test_an_empty_run_list_says_so(editor_client):
    assert "No runs yet" in html(editor_client.get("/runs/"))
    assert "No runs match these filters" in html(editor_client.get("/runs/?status=failed"))


# The path a run took: If/then branches, delays, shared variables


def text_of(fragment: str) -> str:
    """What a reader sees: inline tags dropped, others made spaces, entities decoded."""
    inline = re.sub(r"</?(a|strong|span|code|time)\b[^>]*>", "", fragment)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def step_html(page: str, run: Run, step_id: str) -> str:
    """The HTML of one step's entry, up to the next entry (nested ones included)."""
    start = page.index(f'id="step-{run.pk}-{step_id}"')
    following = page.find('<li class="timeline-step', start)
    return page[start : following if following > 0 else len(page)]


def test_the_run_page_says_which_branch_each_condition_took_and_why(editor_client):
    run = plan_run()
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    plan = text_of(step_html(page, run, "check_plan"))
    assert "Took Then: all of" in plan
    assert 'actions.get_user.app_metadata.plan equals "pro" → "pro" = "pro" ✓ true' in plan
    assert "actions.get_user.logins_count is greater than 3 → 12 > 3 ✓ true" in plan
    region = text_of(step_html(page, run, "check_region"))
    assert "Took Else: any of" in region
    assert 'context.region equals "eu" → undefined = "eu" ✗ false' in region
    assert "vars.consent exists → undefined ✗ false" in region
    assert '"then": []' not in page  # an If/then's branches are steps, not inputs


def test_steps_in_branches_sit_under_then_and_else_and_the_others_are_skipped(editor_client):
    run = plan_run()
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    ids = re.findall(rf'id="step-{run.pk}-(\w+)"', page)
    assert ids == [
        "get_user", "check_plan", "remember", "check_region", "eu_mail", "mark", "downgrade",
        "tell", "answer",
    ]  # fmt: skip
    groups = re.findall(r'role="group" aria-label="([^"]+)"', page)
    assert groups == [
        "Then of Is the plan pro?, taken",
        "Then of In the EU?, not taken",
        "Else of In the EU?, taken",
        "Else of Is the plan pro?, not taken",
    ]
    for step_id in ("eu_mail", "downgrade", "tell"):
        assert f'class="timeline-step step-skipped" id="step-{run.pk}-{step_id}"' in page
        assert "Skipped" in text_of(step_html(page, run, step_id))
    assert (
        '<div class="path-branch path-branch-skipped" role="group" '
        'aria-label="Else of Is the plan pro?, not taken">'
    ) in page
    assert "Not run" not in text_of(page)


def test_the_run_page_shows_the_shared_variables_after_each_step_that_set_them(editor_client):
    run = plan_run()
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    remember = text_of(step_html(page, run, "remember"))
    assert 'Shared variables after this step vars.source "signup" vars.tier new "gold"' in remember
    mark = text_of(step_html(page, run, "mark"))
    assert 'vars.eu new false vars.source "signup" vars.tier "gold"' in mark
    assert "Shared variables" not in text_of(step_html(page, run, "get_user"))


def test_a_waiting_run_says_until_when_and_polls_slowly(editor_client, polling):
    resume_at = timezone.now() + timedelta(hours=3)
    run = waiting_run(resume_at)
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    local = timezone.localtime(resume_at).strftime("%Y-%m-%d %H:%M:%S")
    header = page.split('class="run-waiting"')[1].split("</span>")[0]
    assert f'<time datetime="{resume_at.isoformat()}">{local} UTC</time>' in header
    assert f"Waiting until {local} UTC (in 2" in text_of(header)
    pause = text_of(step_html(page, run, "pause"))
    assert f"Waiting until {local} UTC (in 2" in pause and "1 day" in pause
    assert "Pending" in text_of(step_html(page, run, "remind"))
    assert 'hx-trigger="every 5s"' in page and "Cancel run" in page

    rows = html(editor_client.get("/runs/", {"status": "waiting"}))
    assert f'id="run-row-{run.pk}"' in rows and rows.count('id="run-row-') == 1
    assert f'until <time datetime="{resume_at.isoformat()}">' in rows
    assert 'hx-trigger="every 2s"' in rows  # a waiting run is not final: the list stays live
    assert re.search(r'<option value="waiting"( selected)?>Waiting</option>', rows)


def test_cancelling_a_waiting_run_reads_so_on_its_page(editor_client):
    run = waiting_run(timezone.now() + timedelta(hours=3))
    page = html(editor_client.post(f"/runs/{run.pk}/cancel/", follow=True))
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    summary = text_of(page.split('aria-label="Summary"')[1].split("</section>")[0])
    assert "Cancelled while waiting in Wait a day." in summary
    assert "while waiting in a delay; the steps after it did not run." in summary
    pause = text_of(step_html(page, run, "pause"))
    assert "Cancelled 1 day" in pause
    assert "Cancelled while waiting; the delay was to end at" in pause
    assert "Not run" in text_of(step_html(page, run, "remind"))
    assert "hx-trigger" not in page


def test_a_run_cancelled_while_waiting_keeps_the_time_the_delay_was_to_end(editor_client):
    until = timezone.now() + timedelta(days=1)
    run = cancelled_waiting_run(until)
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    local = timezone.localtime(until).strftime("%Y-%m-%d %H:%M:%S")
    assert f"the delay was to end at {local} UTC" in text_of(step_html(page, run, "pause"))
    assert "Cancelled while waiting in Wait a day" in text_of(page)


def test_a_masked_condition_shows_the_branch_but_never_its_values(editor_client):
    run = masked_run()
    page = html(editor_client.get(f"/runs/{run.pk}/"))
    pin = text_of(step_html(page, run, "check_pin"))
    assert "Took Then: all of" in pin
    assert "actions.lookup.pin equals context.expected → [redacted] = [redacted] ✓" in pin
    assert "Masked: this step hides its output and the values it compared." in pin
    assert SECRET_PIN not in page and SECRET_EXPECTED not in page


def test_the_editor_test_run_panel_nests_the_path_like_the_run_page(editor_client):
    run = plan_run()
    Run.objects.filter(pk=run.pk).update(trigger=Run.Trigger.TEST)
    headers = {"HX-Request": "true"}
    panel = html(
        editor_client.get(f"/flows/{run.flow_id}/edit/test-run/{run.pk}/", headers=headers)
    )
    assert 'class="timeline timeline-compact"' in panel
    assert "Took Then: all of" in text_of(step_html(panel, run, "check_plan"))
    assert re.findall(r'role="group" aria-label="([^"]+)"', panel)[-1] == (
        "Else of Is the plan pro?, not taken"
    )
    assert text_of(panel).count("Skipped") == 3
    assert '<dl class="inputs"' not in panel  # the panel leaves inputs to the run page

    masked = masked_run()
    Run.objects.filter(pk=masked.pk).update(trigger=Run.Trigger.TEST)
    panel = html(
        editor_client.get(f"/flows/{masked.flow_id}/edit/test-run/{masked.pk}/", headers=headers)
    )
    assert "[redacted] = [redacted]" in text_of(panel)
    assert SECRET_PIN not in panel and SECRET_EXPECTED not in panel


def test_a_waiting_test_run_keeps_the_editor_panel_polling(editor_client):
    run = waiting_run(timezone.now() + timedelta(minutes=5))
    Run.objects.filter(pk=run.pk).update(trigger=Run.Trigger.TEST)
    url = f"/flows/{run.flow_id}/edit/test-run/{run.pk}/"
    panel = html(editor_client.get(url, headers={"HX-Request": "true"}))
    assert 'hx-trigger="every 5s"' in panel
    assert "Waiting until" in text_of(step_html(panel, run, "pause"))
