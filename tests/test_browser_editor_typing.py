"""Typing into the editor's inspector, in a real browser: saved as you type without
disturbing the field, nothing lost when the page is left at once, and "Required." going as
soon as a field has a value."""

import queue
import re
import time

import pytest
from django.db import transaction
from django.db.models.signals import post_save
from playwright.sync_api import expect

from flows_app.models import Flow
from flows_app.services import create_flow
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import step

pytestmark = pytest.mark.browser


@pytest.fixture
def flow(db, admin_user):
    delay = {"id": "wait", "type": "FLOW", "action": "DELAY_FLOW", "params": {"units": "SECONDS"}}
    return create_flow(
        name="Typing",
        owner=admin_user,
        definition={"schema_version": 1, "actions": [step("get_user", "GET_USER"), delay]},
    )


def open_step(page_factory, user, flow, step_id, width=1280, *, frozen_timers=False):
    """The editor with a step open; with ``frozen_timers`` no timer of the page runs after
    it has loaded (so nothing is saved after a pause in typing)."""
    page = page_factory(width=width)
    sign_in(page, user.email, PASSWORD)
    if frozen_timers:
        page.clock.install()
    page.goto(f"/flows/{flow.pk}/edit/?step={step_id}")
    expect(page.locator("#steps[data-sortable-ready]")).to_have_count(1)
    if frozen_timers:
        page.clock.pause_at(time.time() + 60)
    return page


@pytest.fixture
def committed_drafts():
    """Each draft the live server (a thread of this process) commits, as it commits it: a
    save the browser sends as it leaves a page is not one Playwright sees."""
    drafts = queue.Queue()

    def record(sender, instance, **kwargs):
        draft = instance.draft
        transaction.on_commit(lambda: drafts.put(draft))

    post_save.connect(record, sender=Flow, weak=False)
    yield drafts
    post_save.disconnect(record, sender=Flow)


# What the save status says each time a save of the inspector is answered, kept on <main>.
TYPING_PAUSE_MS = 600  # editor-autosave.js's PAUSE_MS

RECORD_STATUS = """
const statuses = [];
document.body.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.elt.id === "inspector-form") {
    statuses.push(document.getElementById("save-status").textContent);
    document.querySelector("main").dataset.statuses = statuses.join(" | ");
  }
});
"""


def saved_alias():
    return Flow.objects.get().draft["actions"][0].get("alias")


def test_typing_is_saved_while_the_caret_stays_in_the_field(page_factory, admin_user, flow):
    page = open_step(page_factory, admin_user, flow, "get_user")
    alias = page.locator("#alias")
    alias.focus()
    page.keyboard.type("Find the user")
    expect(page.locator("#card-get_user .step-name")).to_have_text("Find the user")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    assert saved_alias() == "Find the user"
    expect(alias).to_be_focused()
    page.keyboard.type(" again")  # the caret is where it was: at the end
    expect(page.locator("#card-get_user .step-name")).to_have_text("Find the user again")
    expect(alias).to_have_value("Find the user again")
    page.reload()
    expect(page.locator("#alias")).to_have_value("Find the user again")


def test_text_typed_just_before_leaving_the_page_is_kept(
    page_factory, admin_user, flow, committed_drafts
):
    page = open_step(page_factory, admin_user, flow, "get_user", frozen_timers=True)
    page.locator("#alias").focus()
    page.keyboard.type("Typed, then gone")
    assert saved_alias() is None  # no pause in typing has saved it
    page.goto("/flows/")
    draft = committed_drafts.get(timeout=10)
    assert draft["actions"][0]["alias"] == "Typed, then gone"
    page.goto(f"/flows/{flow.pk}/edit/?step=get_user")
    expect(page.locator("#alias")).to_have_value("Typed, then gone")


def test_required_goes_as_soon_as_the_field_has_a_value(page_factory, admin_user, flow):
    page = open_step(page_factory, admin_user, flow, "wait", width=390, frozen_timers=True)
    errors = page.locator("#errors-number")
    expect(errors).to_have_text("Required.")
    page.locator("#in-number").focus()
    page.keyboard.type("8")
    expect(errors).to_have_text("")  # before any save: the page's timers are frozen
    expect(page.locator("#in-number")).to_be_focused()
    screenshot(page, "editor-required-gone-390")
    page.keyboard.press("Tab")  # leaving the field saves it: the server agrees
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(errors).to_have_text("")
    page.locator("#in-number").fill("")
    page.locator("#in-number").dispatch_event("change")
    expect(errors).to_have_text("Required.")
    expect(page.locator("#card-wait")).to_contain_text(re.compile("Wait for: Required"))


def test_leaving_with_test_data_typed_but_not_saved_asks_first(page_factory, admin_user, flow):
    page = open_step(page_factory, admin_user, flow, "get_user")
    data = page.locator("#test-data-input")
    data.focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type('{"context": {"user": {"name": "Ada"}}}')
    with page.expect_event("dialog") as asked:
        page.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()  # stay

    page.get_by_role("button", name="Save test data").click()
    expect(page.get_by_text("Test data saved.")).to_be_visible()
    with page.expect_event("close"):  # nothing left to lose: no question
        page.close(run_before_unload=True)
    assert Flow.objects.get().test_data == {"context": {"user": {"name": "Ada"}}}


def test_a_click_on_the_step_while_its_save_is_on_its_way_is_not_lost(
    page_factory, admin_user, flow
):
    page = open_step(page_factory, admin_user, flow, "get_user")
    held = []

    def hold(route):  # the save waits until let go
        held.append(route)

    page.route("**/steps/get_user/save/", hold)
    page.locator("#alias").focus()
    with page.expect_request("**/steps/get_user/save/"):
        page.keyboard.type("Find the user")
        page.keyboard.press("Tab")  # leaving the field saves at once
    # Its Move down, pressed while the save is still on its way, waits its turn.
    page.locator("#down-get_user").focus()
    page.keyboard.press("Enter")
    held[0].continue_()
    expect(page.locator("#steps > .step-card").first).to_have_id("card-wait")
    expect(page.locator("#card-get_user .step-name")).to_have_text("Find the user")
    expect(page.locator("#down-get_user")).to_be_disabled()
    expect(page.locator("#up-get_user")).to_be_focused()
    assert [s["id"] for s in Flow.objects.get().draft["actions"]] == ["wait", "get_user"]


def let_a_typing_pause_go_by(page):
    """Wait until the page's own clock says a pause in typing would have started a save."""
    page.evaluate("window.pauseFrom = performance.now()")
    page.wait_for_function(f"() => performance.now() - window.pauseFrom > {TYPING_PAUSE_MS + 300}")


@pytest.mark.parametrize("slow", [False, True], ids=["quick-answer", "answer-after-a-pause"])
def test_saved_shows_only_once_the_last_change_is_saved(page_factory, admin_user, flow, slow):
    page = open_step(page_factory, admin_user, flow, "get_user")
    page.evaluate(RECORD_STATUS)
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/steps/get_user/save/", hold_the_first)
    with page.expect_request("**/steps/get_user/save/"):
        page.get_by_label("Allow failure").check()  # saved at once; its answer is slow
    page.get_by_label("Mask output").check()  # saved after it
    if slow:  # the answer comes after a pause in typing would have saved
        let_a_typing_pause_go_by(page)
    held[0].continue_()
    # When the first answer came, the second change was not saved yet; that change's save
    # carries everything, and nothing is saved a third time.
    expect(page.locator("main")).to_have_attribute("data-statuses", "Saving… | Saved.")
    if slow:
        let_a_typing_pause_go_by(page)
        expect(page.locator("main")).to_have_attribute("data-statuses", "Saving… | Saved.")
    step = Flow.objects.get().draft["actions"][0]
    assert step["allow_failure"] and step["mask_output"]
