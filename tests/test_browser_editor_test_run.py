"""The editor's test run panel, in a real browser."""

import re
import time

import pytest
from playwright.sync_api import expect

from flows_app.models import Run
from flows_app.services import create_flow
from tests.browser import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

COUNT_UPDATES = """
window.panelUpdates = 0;
document.body.addEventListener("htmx:beforeRequest", (event) => {
  if (event.detail.requestConfig.verb === "get" && event.detail.elt.id === "test-run") {
    window.panelUpdates += 1;
  }
});
"""


@pytest.fixture
def waiting_flow(db, admin_user):
    wait = {"id": "wait", "type": "FLOW", "action": "DELAY_FLOW"}
    return create_flow(
        name="Waits",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [{**wait, "params": {"number": 1, "units": "HOURS"}}],
        },
    )


def test_a_new_test_run_is_not_replaced_by_an_update_of_the_last_one(
    page_factory, admin_user, waiting_flow
):
    page = page_factory(width=1280)
    sign_in(page, admin_user.email, PASSWORD)
    page.clock.install()
    page.goto(f"/flows/{waiting_flow.pk}/edit/")
    expect(page.locator("#steps[data-sortable-ready]")).to_have_count(1)
    page.clock.pause_at(time.time() + 60)  # the page's timers run when the test says
    page.evaluate(COUNT_UPDATES)
    page.get_by_role("button", name="Run test").click()
    expect(page.locator("#test-run .run-status-line")).to_contain_text("Waiting")
    first = Run.objects.get()

    # The second test run is slow to start; meanwhile the panel's update of the first comes due.
    held = []

    def hold(route):
        held.append(route)

    page.route(re.compile(r"/edit/test-run/$"), hold)
    page.locator("#test-run").evaluate("panel => { panel.dataset.old = ''; }")
    with page.expect_request(re.compile(r"/edit/test-run/$")):
        page.get_by_role("button", name="Run test").click()
    page.clock.run_for(6_000)  # it updates a waiting run every 5 seconds
    if page.evaluate("window.panelUpdates"):
        # The update went out: let its answer be dealt with first, as a slow start allows.
        expect(page.locator("#test-run:not([data-old])")).to_have_count(1)
    held[0].continue_()
    second = Run.objects.exclude(pk=first.pk)
    expect(page.locator("#test-run .run-status-line a")).not_to_have_text(f"Run #{first.pk}")
    assert len(second) == 1
    expect(page.locator("#test-run .run-status-line a")).to_have_text(f"Run #{second[0].pk}")
