"""An editor runs a flow from its page and follows the run, in a real browser.

Celery is eager in tests, so the live server executes a run inside the request that
starts it; the polling test below changes a run behind the page's back instead.
"""

import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from flows_app.models import Run, StepRun
from flows_app.services import create_flow, create_run, publish_flow
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import phone_provider, step

pytestmark = pytest.mark.browser
PHONE = "+14155550123"


@pytest.fixture(autouse=True)
def _polling(settings):
    """The live server speaks HTTP only, so pages take the polling path, not websockets."""
    settings.CHANNEL_LAYER_URL = ""


@pytest.fixture
def csp_errors():
    """Console errors of the pages opened with ``watch``, e.g. CSP refusals."""
    errors: list[str] = []

    def watch(page):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    watch.errors = errors  # type: ignore[attr-defined]
    return watch


def welcome_flow(editor_user):
    flow = create_flow(
        name="Welcome text",
        description="Texts new users a welcome.",
        owner=editor_user,
        definition={
            "schema_version": 1,
            "actions": [
                step(
                    "welcome",
                    "SEND_SMS",
                    "Send the welcome",
                    to="{{ context.user.phone_number }}",
                    message="Welcome, {{ context.user.name }}!",
                ),
                step("code", "SEND_SMS", to="{{ context.user.phone_number }}", message="Code 42"),
            ],
        },
        test_data={"context": {"user": {"name": "Ada", "phone_number": PHONE}}},
    )
    publish_flow(flow, user=editor_user)
    return flow


def test_an_editor_runs_a_flow_with_edited_input_and_runs_it_again(
    page_factory, editor_user, twilio_standin, csp_errors
):
    phone_provider(twilio_standin)
    flow = welcome_flow(editor_user)
    page = csp_errors(page_factory())
    sign_in(page, editor_user.email, PASSWORD)
    page.get_by_role("link", name="Welcome text").click()
    expect(page.get_by_role("heading", name="Welcome text")).to_be_visible()
    expect(page.get_by_text("Texts new users a welcome.")).to_be_visible()
    expect(page.get_by_label("Latest published version (v1)")).to_be_checked()

    box = page.get_by_label("Input (JSON)")
    assert json.loads(box.input_value()) == flow.test_data
    box.fill('{"context": {"user": {"name": "Grace", "phone_number": "+1415"')
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("This is not valid JSON")).to_be_visible()
    expect(box).to_have_value(re.compile(r'"name": "Grace"'))

    edited = {"context": {"user": {"name": "Grace", "phone_number": "+14155550199"}}}
    box.fill(json.dumps(edited, indent=2))
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    run = Run.objects.get()
    timeline = page.locator(".timeline")
    expect(page.locator(".run-status-line .status")).to_have_text("Succeeded")
    expect(timeline.locator(".timeline-step .status")).to_have_text(["Succeeded", "Succeeded"])
    expect(timeline.get_by_text("Send the welcome")).to_be_visible()
    expect(timeline.get_by_text("Welcome, Grace!")).to_be_visible()
    output = page.locator(f"#output-{run.pk}-welcome")
    expect(output).to_have_attribute("open", "")
    expect(output.locator("pre")).to_have_text('{\n  "success": true\n}')
    assert [m["to"] for m in twilio_standin.messages] == ["+14155550199"] * 2
    screenshot(page, "run-page-1280")

    page.get_by_role("button", name="Run again with this input").click()
    page.wait_for_url(re.compile(rf"/runs/(?!{run.pk}/)\d+/$"))
    again = Run.objects.exclude(pk=run.pk).get()
    assert again.input == edited and again.version == run.version
    expect(page.get_by_role("heading", name=f"Run {again.pk} of Welcome text")).to_be_visible()
    expect(page.locator(".run-status-line .status")).to_have_text("Succeeded")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    expect(page.locator("#runs tbody tr")).to_have_count(2)
    screenshot(page, "run-list-1280")
    page.get_by_role("link", name="Welcome text").first.click()
    expect(page.get_by_role("heading", name="Recent runs")).to_be_visible()
    screenshot(page, "flow-page-1280")
    assert csp_errors.errors == []


def test_a_running_run_updates_without_a_reload_and_stops_polling(
    page_factory, editor_user, twilio_standin, csp_errors
):
    phone_provider(twilio_standin)  # publishing a flow that texts needs one
    flow = welcome_flow(editor_user)
    run = create_run(flow, trigger=Run.Trigger.MANUAL, input=flow.test_data)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, started_at=timezone.now())
    page = csp_errors(page_factory())
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/runs/{run.pk}/")
    status = page.locator(".run-status-line .status")
    expect(status).to_have_text("Running")
    expect(page.get_by_role("button", name="Cancel run")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    StepRun.objects.create(
        run=run, step_id="welcome", action_type="AUTH0/SEND_SMS", position=0,
        status=StepRun.Status.SUCCEEDED, inputs={"to": PHONE, "message": "Welcome, Ada!"},
        output={"success": True, "sid": "SM1"}, duration_ms=120,
    )  # fmt: skip
    expect(page.locator(f"#step-{run.pk}-welcome .status")).to_have_text("Succeeded")
    expect(page.locator(f"#step-{run.pk}-code .status")).to_have_text("Pending")

    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_text("Cancelling: stops before its next step.").first).to_be_visible()
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.CANCELLED, finished_at=timezone.now(), error="Cancelled by Eddie."
    )
    page.evaluate("window.notReloaded = true")
    expect(status).to_have_text("Cancelled")
    expect(page.locator(f"#step-{run.pk}-code .status")).to_have_text("Not run")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator(f"#run-{run.pk}")).not_to_have_attribute("hx-trigger", re.compile("."))
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url))
    page.wait_for_timeout(2500)
    assert polls == [], "the page still polls a finished run"


def test_the_run_pages_fit_a_phone_screen(page_factory, editor_user, twilio_standin):
    phone_provider(twilio_standin)
    flow = welcome_flow(editor_user)
    unsubscribed = {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}
    twilio_standin.force(
        f"/2010-04-01/Accounts/{twilio_standin.account_sid}/Messages.json", 400, unsubscribed
    )
    page = page_factory(width=390, height=844)
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    expect(page.locator(".run-status-line .status")).to_have_text("Failed")
    expect(page.get_by_text("The vendor answered:")).to_be_visible()
    for path, name in (
        (None, "run-page-failed-390"),
        ("/runs/", "run-list-390"),
        (f"/flows/{flow.pk}/", "flow-page-390"),
    ):
        if path:
            page.goto(path)
        screenshot(page, name)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 390px"


def test_the_run_list_filters_without_a_reload(
    page_factory, viewer_user, editor_user, twilio_standin
):
    phone_provider(twilio_standin)  # publishing a flow that texts needs one
    flow = welcome_flow(editor_user)
    other = create_flow(name="Other flow", definition={"schema_version": 1, "actions": []})
    for trigger in (Run.Trigger.MANUAL, Run.Trigger.API):
        create_run(flow, trigger=trigger)
    Run.objects.update(status=Run.Status.SUCCEEDED)
    create_run(other, trigger=Run.Trigger.CLI)
    Run.objects.filter(flow=other).update(status=Run.Status.FAILED)
    page = page_factory()
    sign_in(page, viewer_user.email, PASSWORD)
    page.goto("/runs/")
    expect(page.locator("#runs tbody tr")).to_have_count(3)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    expect(page.locator("#runs tbody")).to_contain_text("Other flow")
    assert "status=failed" in page.url and page.evaluate("window.notReloaded") is True
    page.get_by_label("Status").select_option("")
    page.get_by_label("Flow").select_option(label="Welcome text")
    page.get_by_label("Trigger").select_option("api")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    expect(page.locator("#runs tbody")).to_contain_text("HTTP API")
    page.goto(f"/runs/{Run.objects.first().pk}/")
    expect(page.get_by_role("button", name="Run again with this input")).to_have_count(0)
