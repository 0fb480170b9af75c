"""The run page reads the path a run took through If/then branches and delays, in a browser."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from flows_app.models import Run
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.run_records import (
    SECRET_EXPECTED,
    SECRET_PIN,
    cancelled_waiting_run,
    masked_run,
    plan_run,
    waiting_run,
)

pytestmark = pytest.mark.browser
OWN_HEAD = ":scope > .step-body .path-took"  # an If/then's own, not a nested one's
OWN_CHECKS = ":scope > .step-body .path-check"


@pytest.fixture(autouse=True)
def _polling(settings):
    """The live server speaks HTTP only, so pages take the polling path, not websockets."""
    settings.CHANNEL_LAYER_URL = ""


def no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def test_the_run_page_reads_the_branches_taken(page_factory, viewer_user):
    run = plan_run()
    for width, height in ((1280, 900), (390, 844)):
        page = page_factory(width=width, height=height)
        sign_in(page, viewer_user.email, PASSWORD)
        page.goto(f"/runs/{run.pk}/")
        plan = page.locator(f"#step-{run.pk}-check_plan")
        expect(plan.locator(OWN_HEAD)).to_have_text("Took Then: all of")
        expect(plan.locator(OWN_CHECKS).first).to_have_text(
            'actions.get_user.app_metadata.plan equals "pro" → "pro" = "pro" ✓ true'
        )
        then = plan.get_by_role("group", name="Then of Is the plan pro?, taken")
        region = then.locator(f"#step-{run.pk}-check_region")
        expect(region.locator(OWN_HEAD)).to_have_text("Took Else: any of")
        expect(region.locator(OWN_CHECKS).first).to_contain_text('undefined = "eu" ✗')
        expect(region.get_by_role("group", name="Else of In the EU?, taken")).to_contain_text(
            "Mark as elsewhere"
        )
        skipped = plan.get_by_role("group", name="Else of Is the plan pro?, not taken")
        expect(skipped.locator(".status")).to_have_text(["Skipped", "Skipped"])
        expect(skipped.locator(".timeline")).to_have_css("opacity", "0.6")
        mark = page.locator(f"#step-{run.pk}-mark .step-vars-list")
        expect(mark.locator("dt")).to_have_text(["vars.eu new", "vars.source", "vars.tier"])
        expect(mark.locator("dd")).to_have_text(["false", '"signup"', '"gold"'])
        screenshot(page, f"run-path-{width}")
        no_sideways_scroll(page)


def test_a_waiting_run_says_until_when_and_keeps_polling(page_factory, editor_user):
    resume_at = timezone.now() + timedelta(hours=20)
    run = waiting_run(resume_at)
    page = page_factory()
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/runs/{run.pk}/")
    header = page.locator(".run-waiting")
    expect(header).to_contain_text("Waiting until")
    expect(header.locator("time")).to_have_attribute("datetime", resume_at.isoformat())
    pause = page.locator(f"#step-{run.pk}-pause")
    expect(pause.locator(".path-delay")).to_contain_text("Waiting until")
    expect(pause.locator(".path-delay")).to_contain_text("(in 19\u00a0hours")
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("hx-trigger", "every 5s")
    screenshot(page, "run-waiting-1280")

    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, resume_at=None)
    expect(page.locator(".run-status-line .status")).to_have_text("Running", timeout=8000)


def test_a_run_cancelled_while_waiting_reads_so(page_factory, editor_user):
    run = cancelled_waiting_run(timezone.now() + timedelta(days=1))
    page = page_factory(width=390, height=844)
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/runs/{run.pk}/")
    expect(page.locator(".run-status-line")).to_contain_text(
        "Cancelled while waiting in Wait a day"
    )
    expect(page.locator(f"#step-{run.pk}-pause .path-delay")).to_contain_text(
        "Cancelled while waiting; the delay was to end at"
    )
    expect(page.locator(f"#step-{run.pk}-remind .status")).to_have_text("Not run")
    screenshot(page, "run-cancelled-waiting-390")
    no_sideways_scroll(page)


def test_a_masked_condition_shows_no_values(page_factory, editor_user):
    run = masked_run()
    page = page_factory()
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/runs/{run.pk}/")
    pin = page.locator(f"#step-{run.pk}-check_pin")
    expect(pin.locator(".path-took")).to_have_text("Took Then: all of")
    expect(pin.locator(".path-check-values")).to_have_text("[redacted] = [redacted]")
    content = page.content()
    assert SECRET_PIN not in content and SECRET_EXPECTED not in content


def test_the_editor_test_run_panel_nests_the_path(page_factory, editor_user):
    run = plan_run()
    Run.objects.filter(pk=run.pk).update(trigger=Run.Trigger.TEST)
    page = page_factory()
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/flows/{run.flow_id}/edit/")
    panel = page.locator("#test-run")
    plan = panel.locator(f"#step-{run.pk}-check_plan")
    expect(plan.locator(OWN_HEAD)).to_have_text("Took Then: all of")
    expect(panel.get_by_role("group", name="Else of Is the plan pro?, not taken")).to_be_visible()
    expect(panel.locator(".status-skipped")).to_have_count(3)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(_artifact("editor-test-run-path-1280")))


def _artifact(name):
    from tests.browser import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
