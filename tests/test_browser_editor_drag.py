"""Dragging on the editor's canvas, in a real browser: a drag can be called off, and no drag
breaks the site's Content Security Policy."""

import re

import pytest
from playwright.sync_api import expect

from flows_app.services import create_flow
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import step
from tests.test_browser_editor import drag

pytestmark = pytest.mark.browser

# Every Content Security Policy violation of the page, kept where a test can read it.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def two_steps(db, admin_user):
    return create_flow(
        name="Drags",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [step("get_user", "GET_USER"), step("send_sms", "SEND_SMS")],
        },
    )


def open_editor(page_factory, user, flow):
    page = page_factory(width=1280, height=1100)
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/")
    expect(page.locator("#steps[data-sortable-ready]")).to_have_count(1)
    return page


def cards(page):
    return page.locator("#steps > .step-card")


def action_ids(flow):
    flow.refresh_from_db()
    return [s["action"] for s in flow.draft["actions"]]


def start_drag(page, source, target):
    """Press on ``source`` and carry it over ``target``, without letting go."""
    start = source.bounding_box()
    box = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 10, steps=5)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 4, steps=20)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2, steps=3)


def add_with_the_button(page, label):
    """A real edit after the drag: its answer comes after any the drag would have sent."""
    before = cards(page).count()
    with page.expect_response(re.compile(r"/edit/add/$")):
        page.get_by_role("button", name=f"Add {label}", exact=True).click()
    expect(cards(page)).to_have_count(before + 1)


def palette(page, action):
    return page.locator(f".palette [data-action='{action}']")


def test_escape_calls_off_an_action_dragged_over_the_canvas(page_factory, admin_user, two_steps):
    page = open_editor(page_factory, admin_user, two_steps)
    start_drag(page, palette(page, "AUTH0/CREATE_USER"), page.locator("#steps"))
    expect(page.locator("#steps > .palette-item")).to_have_count(1)  # making room for it
    page.keyboard.press("Escape")
    expect(page.locator("#steps > .palette-item")).to_have_count(0)
    page.mouse.up()
    expect(page.locator(".sortable-fallback")).to_have_count(0)
    # The palette is whole again, and its Create user still works.
    expect(page.locator(".palette [data-action='AUTH0/CREATE_USER']")).to_have_count(1)
    add_with_the_button(page, "Create user")
    assert action_ids(two_steps) == ["GET_USER", "SEND_SMS", "CREATE_USER"]


def test_an_action_let_go_outside_the_canvas_adds_nothing(page_factory, admin_user, two_steps):
    page = open_editor(page_factory, admin_user, two_steps)
    start_drag(page, palette(page, "AUTH0/CREATE_USER"), page.locator("#steps"))
    expect(page.locator("#steps > .palette-item")).to_have_count(1)
    away = page.locator("#inspector").bounding_box()
    page.mouse.move(away["x"] + away["width"] / 2, away["y"] + 40, steps=10)
    page.mouse.up()
    expect(page.locator("#steps > .palette-item")).to_have_count(0)
    add_with_the_button(page, "Do nothing")
    assert action_ids(two_steps) == ["GET_USER", "SEND_SMS", "DO_NOTHING"]
    expect(cards(page)).to_have_count(3)


def test_escape_calls_off_a_step_dragged_to_a_new_place(page_factory, admin_user, two_steps):
    page = open_editor(page_factory, admin_user, two_steps)
    start_drag(page, page.locator("#card-send_sms"), page.locator("#card-get_user"))
    page.mouse.move(*_top_of(page.locator("#card-get_user")), steps=10)
    expect(cards(page).first).to_have_id("card-send_sms")  # it made room above Get user
    page.keyboard.press("Escape")
    expect(cards(page).first).to_have_id("card-get_user")
    page.mouse.up()
    add_with_the_button(page, "Do nothing")
    assert action_ids(two_steps) == ["GET_USER", "SEND_SMS", "DO_NOTHING"]


def _top_of(locator):
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + 4


def test_dragging_breaks_no_content_security_policy_rule(page_factory, admin_user, two_steps):
    page = open_editor(page_factory, admin_user, two_steps)
    with page.expect_response(re.compile(r"/edit/add/$")):
        drag(page, palette(page, "FLOW/BOOLEAN_CONDITION"), page.locator("#steps"))
    expect(cards(page)).to_have_count(3)
    condition = two_steps.__class__.objects.get().draft["actions"][2]["id"]
    with page.expect_response(re.compile(r"/edit/move/$")):
        drag(page, cards(page).nth(1), cards(page).nth(0), where="top")
    expect(cards(page).first).to_have_id("card-send_sms")
    with page.expect_response(re.compile(r"/edit/add/$")):
        drag(page, palette(page, "FLOW/DO_NOTHING"), page.locator(f"#steps-{condition}-then"))
    expect(page.locator(f"#steps-{condition}-then > .step-card")).to_have_count(1)
    screenshot(page, "editor-dragged-1280")
    assert page.evaluate("window.cspViolations") == []


def test_a_drop_made_while_another_edit_is_on_its_way_is_not_lost(
    page_factory, admin_user, two_steps
):
    page = open_editor(page_factory, admin_user, two_steps)
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/edit/move/$"), hold_the_first)
    with page.expect_request(re.compile(r"/edit/move/$")):
        page.locator("#down-get_user").focus()
        page.keyboard.press("Enter")
    # Dropped while the canvas it was dragged on is about to be replaced by that answer.
    drag(page, palette(page, "FLOW/DO_NOTHING"), page.locator("#steps"))
    held[0].continue_()
    expect(cards(page)).to_have_count(3)
    expect(cards(page).first).to_have_id("card-send_sms")
    assert action_ids(two_steps) == ["SEND_SMS", "GET_USER", "DO_NOTHING"]
