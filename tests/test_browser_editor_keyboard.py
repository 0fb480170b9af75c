"""The editor from the keyboard, in a real browser: where focus goes after an edit, however
late the page's timers run, and the keyboard shortcuts."""

import re
import time

import pytest
from playwright.sync_api import expect

from flows_app.models import Flow
from flows_app.services import create_flow
from tests.browser import ARTIFACTS, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import step

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


def test_an_added_step_comes_into_view_with_focus_on_a_phone(page_factory, admin_user, empty_flow):
    page = open_editor(page_factory, admin_user, empty_flow, width=390)
    page.get_by_role("button", name="Add Send SMS", exact=True).click()
    expect(cards(page)).to_have_count(1)
    (sms,) = step_ids(empty_flow)
    new = page.locator(f"#select-{sms}")
    expect(new).to_be_focused()
    expect(new).to_be_in_viewport()
    page.screenshot(path=ARTIFACTS / "editor-added-390.png")


@pytest.fixture
def two_steps(db, admin_user):
    return create_flow(
        name="Keys",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [step("get_user", "GET_USER"), step("send_sms", "SEND_SMS")],
        },
    )


def test_shortcuts_delete_the_selected_step_undo_and_redo(page_factory, admin_user, two_steps):
    page = open_editor(page_factory, admin_user, two_steps)
    page.locator("#select-get_user").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#card-get_user")).to_have_class(re.compile("is-selected"))

    page.keyboard.press("Delete")
    expect(page.locator("#card-get_user")).to_have_count(0)
    expect(page.locator("#undo-button")).to_be_focused()
    assert step_ids(two_steps) == ["send_sms"]
    page.keyboard.press("Control+z")
    expect(page.locator("#card-get_user")).to_have_count(1)
    assert step_ids(two_steps) == ["get_user", "send_sms"]
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("#card-get_user")).to_have_count(0)
    # Nothing more to redo: focus goes to Undo, not to the disabled Redo.
    expect(page.locator("#redo-button")).to_be_disabled()
    expect(page.locator("#undo-button")).to_be_focused()
    assert step_ids(two_steps) == ["send_sms"]
    page.keyboard.press("Meta+z")
    expect(page.locator("#card-get_user")).to_have_count(1)

    page.locator("#select-send_sms").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#inspector #step-id")).to_have_value("send_sms")
    page.keyboard.press("Backspace")
    expect(page.locator("#card-send_sms")).to_have_count(0)
    assert step_ids(two_steps) == ["get_user"]


def test_keys_typed_in_a_field_edit_the_text_only(page_factory, admin_user, two_steps):
    page = open_editor(page_factory, admin_user, two_steps)
    page.locator("#select-send_sms").focus()
    page.keyboard.press("Enter")
    page.locator("#alias").focus()
    page.keyboard.type("Textt")
    page.keyboard.press("Backspace")
    page.keyboard.press("Delete")
    expect(page.locator("#alias")).to_have_value("Text")
    page.get_by_role("button", name="Save step").click()  # answered after anything sent before
    expect(page.locator("#save-status")).to_have_text("Saved.")
    assert step_ids(two_steps) == ["get_user", "send_sms"]
    expect(page.locator("#card-send_sms")).to_contain_text("Text")


def test_the_shortcuts_are_listed_under_a_question_mark(page_factory, admin_user, two_steps):
    page = open_editor(page_factory, admin_user, two_steps, width=390)
    summary = page.locator("#shortcuts > summary")
    listing = page.locator(".shortcuts-panel")
    expect(listing).to_be_hidden()
    page.locator("main").focus()
    for _ in range(3):  # the breadcrumb's two links, then the "?"
        page.keyboard.press("Tab")
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    expect(listing).to_be_visible()
    expect(listing).to_contain_text("Delete the selected step")
    page.screenshot(path=ARTIFACTS / "editor-shortcuts-390.png")
    page.keyboard.press("Escape")
    expect(listing).to_be_hidden()
    expect(summary).to_be_focused()
    page.locator("#canvas-heading").click()
    page.keyboard.press("?")
    expect(listing).to_be_visible()
    expect(summary).to_be_focused()


def test_the_delete_button_asks_first_by_the_steps_current_name(
    page_factory, admin_user, two_steps
):
    page = open_editor(page_factory, admin_user, two_steps)
    page.locator("#select-send_sms").click()
    page.locator("#alias").fill("Text the user")
    page.locator("#alias").dispatch_event("change")
    expect(page.locator("#card-send_sms .step-name")).to_have_text("Text the user")
    delete = page.get_by_role("button", name="Delete Text the user (send_sms)")
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    delete.click()
    assert asked == ["Delete the step Text the user (send_sms)?"]
    expect(delete).to_be_visible()
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    delete.click()
    expect(page.locator("#card-send_sms")).to_have_count(0)
    assert step_ids(two_steps) == ["get_user"]


def test_a_delete_confirmed_while_a_save_is_on_its_way_asks_once(
    page_factory, admin_user, two_steps
):
    page = open_editor(page_factory, admin_user, two_steps)
    page.locator("#select-send_sms").click()
    page.locator("#alias").focus()
    page.keyboard.type("Text")
    held = []

    def hold(route):
        held.append(route)

    page.route("**/steps/send_sms/save/", hold)
    asked = []

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    # Pressing Delete leaves the field, which saves it; the delete waits for that save.
    with page.expect_request("**/steps/send_sms/save/"):
        page.get_by_role("button", name=re.compile("^Delete .*send_sms")).click()
    assert len(asked) == 1
    held[0].continue_()
    expect(page.locator("#card-send_sms")).to_have_count(0)
    assert step_ids(two_steps) == ["get_user"]
    assert len(asked) == 1
