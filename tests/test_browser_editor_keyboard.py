"""The editor from the keyboard, in a real browser: where focus goes after an edit, however
late the page's timers run, and the keyboard shortcuts."""

import re
import time

import pytest
from playwright.sync_api import expect

from flows_app.models import Flow
from flows_app.services import create_flow
from tests.browser import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def empty_flow(db, admin_user):
    return create_flow(name="Keys", owner=admin_user)


def open_editor(page_factory, user, flow, width=1280, *, frozen_timers=False):
    """The editor, ready for keys; with ``frozen_timers`` the page's setTimeout callbacks
    never run from then on, as when a busy machine runs them late."""
    page = page_factory(width=width)
    sign_in(page, user.email, PASSWORD)
    if frozen_timers:
        page.clock.install()
    page.goto(f"/flows/{flow.pk}/edit/")
    expect(page.locator("#steps[data-sortable-ready]")).to_have_count(1)
    if frozen_timers:
        page.clock.pause_at(time.time() + 60)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    return page


def cards(page):
    return page.locator("#steps > .step-card")


def step_ids(flow):
    flow.refresh_from_db()
    return [s["id"] for s in flow.draft["actions"]]


def press_add(page, label):
    page.get_by_role("button", name=f"Add {label}", exact=True).focus()
    page.keyboard.press("Enter")
    expect(cards(page).filter(has_text=label)).to_have_count(1)


def test_move_up_pressed_the_moment_a_new_step_appears_keeps_focus_on_it(
    page_factory, admin_user, empty_flow
):
    # The keys come as soon as each step is on the canvas: no timer of the page gets to run
    # in between, as on a slow, busy machine.
    page = open_editor(page_factory, admin_user, empty_flow, width=390, frozen_timers=True)
    press_add(page, "Get user")
    press_add(page, "Send SMS")
    press_add(page, "Custom API request")
    first, sms, api = step_ids(empty_flow)

    page.locator(f"#up-{api}").focus()
    page.keyboard.press("Enter")
    expect(cards(page).nth(1)).to_contain_text("Custom API request")
    expect(page.locator(f"#up-{api}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(cards(page).first).to_contain_text("Custom API request")
    # At the top its Move up is disabled: focus goes to its Move down.
    expect(page.locator(f"#down-{api}")).to_be_focused()
    assert step_ids(empty_flow) == [api, first, sms]
    assert page.evaluate("window.sameDocument") is True  # moved in place, not by a reload


def test_a_move_posted_as_a_plain_form_reloads_with_focus_on_the_moved_step(
    page_factory, admin_user, empty_flow
):
    # A form the page's script has not taken over yet (the page is still loading) posts
    # itself; the page that comes back puts focus where the htmx reply would have.
    page = open_editor(page_factory, admin_user, empty_flow, width=390)
    press_add(page, "Get user")
    press_add(page, "Send SMS")
    first, sms = step_ids(empty_flow)
    with page.expect_navigation():
        page.locator(f"#down-{first}").evaluate(
            "button => HTMLFormElement.prototype.submit.call(button.form)"
        )
    expect(cards(page).nth(1)).to_contain_text("Get user")
    expect(page.locator(f"#up-{first}")).to_be_focused()
    assert step_ids(empty_flow) == [sms, first]
    page.reload()
    expect(page.locator("#canvas:not([data-focus-id])")).to_have_count(1)
    expect(page.locator(f"#up-{first}")).not_to_be_focused()  # once only
    assert Flow.objects.get().draft["actions"][1]["id"] == first
    assert re.search(r"/edit/", page.url)
