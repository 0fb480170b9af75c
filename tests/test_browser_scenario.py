"""The whole story in a real browser: build a flow that reads a user from Auth0, branches on
its plan, stores a variable, maps the plan to a display name, waits and emails the result;
run it for two users that take different branches, and read the path in run history."""

import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from flows_app.models import Flow, Run
from flows_app.services import create_flow
from flows_app.tasks import sweep_runs
from tests.browser import fill_inspector, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import auth0_connection, email_provider
from tests.standins.auth0 import new_user
from tests.test_browser_branches import branch, saved
from tests.test_browser_editor import drag
from tests.workers import wait_until

pytestmark = pytest.mark.browser
PRO = {"context": {"user": {"user_id": "auth0|pro"}}}
FREE = {"context": {"user": {"user_id": "auth0|new"}}}


@pytest.fixture
def vendors(db, auth0_standin, smtp_standin):
    smtp_standin.username = ""
    for local_id, extra in (("pro", {"app_metadata": {"plan": "pro"}}), ("new", {})):
        body = {"connection": "Username-Password-Authentication", "user_id": local_id}
        user = new_user({**body, **extra, "email": f"{local_id}@example.com"}, "auth0")
        auth0_standin.users[user["user_id"]] = user
    email_provider(smtp_standin)
    return auth0_connection(auth0_standin), smtp_standin


def palette(page, key):
    return page.locator(f".palette [data-action='{key}']")


def tree():
    """The saved draft as (action, id) pairs, an If/then with its two branches."""

    def of(steps):
        return [
            (s["action"], s["id"], of(s["params"]["then"]), of(s["params"]["else"]))
            if s["action"] == "BOOLEAN_CONDITION"
            else (s["action"], s["id"])
            for s in steps
        ]

    return of(Flow.objects.get().draft["actions"])


def inspect(page, step_id):
    page.locator("#inspector").evaluate("inspector => inspector.setAttribute('data-old', '')")
    page.locator(f"#select-{step_id}").click()
    expect(page.locator("#inspector:not([data-old]) #step-id")).to_have_value(step_id)
    page.locator("#save-status").evaluate("status => { status.textContent = ''; }")


def fill_rows(page, field_id, rows: dict):
    field = page.locator(f"#{field_id}")
    for index, (name, value) in enumerate(rows.items()):
        if field.locator(".kv-row").count() <= index:
            field.locator(".kv-add").click()
        row = field.locator(".kv-row").nth(index)
        row.locator("input").nth(0).fill(name)
        row.locator("input").nth(1).fill(value)
        row.locator("input").nth(1).dispatch_event("change")
    expect(page.locator("#save-status")).to_have_text("Saved.")


def run_test(page, data) -> Run:
    page.locator("#test-data-input").fill(json.dumps(data, indent=2))
    page.get_by_role("button", name="Save test data").click()
    # An earlier save's "Test data saved" may still show: wait for this one.
    assert wait_until(lambda: Flow.objects.get().test_data == data, timeout=10)
    expect(page.get_by_text("Test data saved")).to_be_visible()
    before = set(Run.objects.values_list("pk", flat=True))
    page.get_by_role("button", name="Run test").click()
    assert wait_until(lambda: Run.objects.exclude(pk__in=before).exists(), timeout=10)
    [run] = Run.objects.exclude(pk__in=before)
    expect(page.locator(f"#test-run a[href='/runs/{run.pk}/']").first).to_be_visible()
    expect(page.locator("#test-run .run-status-line")).to_contain_text("Waiting")
    run.refresh_from_db()
    assert wait_until(lambda: timezone.now() >= run.resume_at, timeout=10)
    sweep_runs()  # what the scheduled sweep does once the delay is over
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    return run


def test_a_flow_built_in_the_browser_takes_both_branches_for_two_users(
    page_factory, admin_user, vendors
):
    tenant, smtp = vendors
    flow = create_flow(name="Welcome by plan", owner=admin_user, test_data=PRO)
    page = page_factory(width=1280, height=1400)
    sign_in(page, admin_user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/")

    # The shape, by dragging: Get user, If/then with a step in each branch, then the rest.
    # The If/then goes in last, before Map value: a drag to the end of the list that
    # crosses an If/then may end in its Else, which grows under the pointer.
    for key in ("AUTH0/GET_USER", "FLOW/MAP_VALUE", "FLOW/DELAY_FLOW", "AUTH0/SEND_EMAIL"):
        with saved(page, r"/edit/add/$"):
            drag(page, palette(page, key), page.locator("#steps"))
    (_, get), (_, plan), _, _ = tree()
    with saved(page, r"/edit/add/$"):
        drag(page, palette(page, "FLOW/BOOLEAN_CONDITION"), page.locator(f"#card-{plan}"), "top")
    (_, get), (_, check, _, _), *_ = tree()
    with saved(page, r"/edit/add/$"):
        drag(page, palette(page, "FLOW/STORE_VARS"), branch(page, check, "then"))
    with saved(page, r"/edit/add/$"):
        drag(page, palette(page, "FLOW/STORE_VARS"), branch(page, check, "else"))
    shape = tree()
    (_, get), (_, check, [(_, pro)], [(_, free)]), (_, plan), (_, pause), (_, mail) = shape
    assert [s[0] for s in shape] == [
        "GET_USER",
        "BOOLEAN_CONDITION",
        "MAP_VALUE",
        "DELAY_FLOW",
        "SEND_EMAIL",
    ]

    # The settings, in the inspector.
    inspect(page, get)
    fill_inspector(
        page, {"#in-connection_id": str(tenant.pk), "#in-user_id": "{{ context.user.user_id }}"}
    )
    inspect(page, check)
    root = page.locator(".cond-root")
    root.locator(":scope > .cond-tools").get_by_role("button", name="Add condition").click()
    row = page.locator(".cond-leaf").first
    row.locator(".cond-left").fill(f"{{{{ actions.{get}.app_metadata.plan }}}}")
    row.locator(".cond-op").select_option(label="equals")
    row.locator(".cond-right").fill("pro")
    row.locator(".cond-right").press("Tab")  # leaving the field saves, as a person would
    expect(page.locator("#save-status")).to_have_text("Saved.")
    # Choosing the operator saved too: wait for the last save's answer, which redraws the
    # If/then's card (and the cards in its branches), before clicking one of them.
    assert wait_until(lambda: '"pro"' in json.dumps(Flow.objects.get().draft), timeout=10)
    expect(page.locator(".htmx-request")).to_have_count(0)
    inspect(page, pro)
    fill_rows(page, "in-vars", {"tier": "pro"})
    inspect(page, free)
    fill_rows(page, "in-vars", {"tier": "free"})
    inspect(page, plan)
    fill_inspector(page, {"#in-input": "{{ vars.tier }}", "#in-fallback": "Sluice"})
    fill_rows(page, "in-cases", {"pro": "Sluice Pro", "free": "Sluice Free"})
    inspect(page, pause)
    fill_inspector(page, {"#in-number": "3", "#in-units": "SECONDS"})
    inspect(page, mail)
    fill_inspector(
        page,
        {
            "#in-to": f"{{{{ actions.{get}.email }}}}",
            "#in-subject": f"Welcome to {{{{ actions.{plan}.result }}}}",
            "#in-body": "<p>You are on {{ vars.tier }}.</p>",
        },
    )
    expect(page.locator("#canvas .step-problems-marker")).to_have_count(0)

    # A pro user takes Then; the condition's preview, fed by that run, says so.
    first = run_test(page, PRO)
    inspect(page, check)
    verdict = page.locator("#preview-if .cond-verdict")
    expect(verdict).to_contain_text("takes the Then branch")
    # A user without a plan takes Else.
    second = run_test(page, FREE)
    page.reload()
    inspect(page, check)
    expect(verdict).to_contain_text("takes the Else branch")
    screenshot(page, "scenario-editor-1280")

    subjects = [m.message["Subject"] for m in smtp.messages]
    assert subjects == ["Welcome to Sluice Pro", "Welcome to Sluice Free"]
    assert [m.rcpt_tos for m in smtp.messages] == [["pro@example.com"], ["new@example.com"]]

    # Run history reads the path each run took.
    for run, took, skipped in ((first, "Then", free), (second, "Else", pro)):
        page.goto(f"/runs/{run.pk}/")
        expect(page.locator(".run-status-line")).to_contain_text("Succeeded")
        entry = page.locator(f"#step-{run.pk}-{check}")
        expect(entry).to_contain_text(f"Took {took}")
        expect(entry).to_contain_text("equals")
        expect(page.locator(f"#step-{run.pk}-{skipped}")).to_contain_text("Skipped")
        expect(page.locator(f"#step-{run.pk}-{pause}")).to_contain_text("Succeeded")
    expect(page.locator(f"#step-{second.pk}-{check}")).to_contain_text(
        re.compile(r"undefined\s*=\s*\"pro\"")
    )
    screenshot(page, "scenario-run-else-1280")
