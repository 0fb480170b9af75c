"""Building If/then branches on the editor's canvas, in a real browser: dragging actions
into Then and Else, steps between branches, the keyboard's Move buttons and folding."""

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from flows_app.models import Flow
from flows_app.services import create_flow
from tests.browser import ARTIFACTS, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.test_browser_editor import drag

pytestmark = pytest.mark.browser


@pytest.fixture
def empty_flow(db, admin_user):
    return create_flow(name="Branches", owner=admin_user)


def open_editor(page_factory, user, flow, width=1280, height=900):
    page = page_factory(width=width, height=height)
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/")
    return page


def palette(page, action):
    return page.locator(f".palette [data-action='FLOW/{action}']")


def shape():
    """The saved draft's actions as nested tuples: an If/then is (action, [then], [else])."""

    def of(steps):
        return [
            (s["action"], of(s["params"]["then"]), of(s["params"]["else"]))
            if s["action"] == "BOOLEAN_CONDITION"
            else s["action"]
            for s in steps
        ]

    return of(Flow.objects.get().draft["actions"])


def ids():
    draft = Flow.objects.get().draft["actions"]
    condition = draft[0]
    return (
        condition["id"],
        [s["id"] for s in condition["params"]["then"]],
        [s["id"] for s in condition["params"]["else"]],
    )


def branch(page, condition_id, name):
    return page.locator(f"#steps-{condition_id}-{name}")


def fold(page, condition_id, name):
    """The <details> that holds a branch."""
    return page.locator(f"details[data-collapse-key$=':{condition_id}:{name}']")


@contextmanager
def saved(page, pattern):
    """Wait for the edit's answer, and for the canvas it brings to be swapped in and to
    have put focus where it says (editor.js then drops data-focus-id)."""
    page.locator("#canvas").evaluate("canvas => canvas.setAttribute('data-old', '')")
    with page.expect_response(re.compile(pattern)):
        yield
    expect(page.locator("#canvas:not([data-old]):not([data-focus-id])")).to_have_count(1)


def drag_card(page, card, target, where="top"):
    """Drag a card like a person does: towards the target, then onto it again once the
    lists have made room for the card, then drop."""
    start = card.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 22, steps=5)
    for _ in range(2):
        box = target.bounding_box()
        y = box["y"] + (6 if where == "top" else box["height"] - 6)
        page.mouse.move(box["x"] + box["width"] / 2, y, steps=15)
        page.wait_for_timeout(150)  # let the animation settle
    page.mouse.up()


def test_an_editor_builds_branches_by_dragging_and_with_the_keyboard(
    page_factory, admin_user, empty_flow
):
    # Tall enough that the palette's Logic group and the canvas are both in view to drag.
    page = open_editor(page_factory, admin_user, empty_flow, height=1400)

    with saved(page, r"/edit/add/$"):
        drag(page, palette(page, "BOOLEAN_CONDITION"), page.locator("#steps"))
    expect(page.locator("#steps > .step-card.is-condition")).to_have_count(1)
    assert shape() == [("BOOLEAN_CONDITION", [], [])]
    condition, _, _ = ids()
    then, otherwise = branch(page, condition, "then"), branch(page, condition, "else")
    expect(then.locator(".drop-hint")).to_have_text("Empty: drag a step or an action here.")

    with saved(page, r"/edit/add/$"):
        drag(page, palette(page, "STORE_VARS"), then)
    expect(then.locator(".step-card")).to_have_count(1)
    assert shape() == [("BOOLEAN_CONDITION", ["STORE_VARS"], [])]
    with saved(page, r"/edit/add/$"):
        drag(page, palette(page, "DO_NOTHING"), otherwise)
    expect(otherwise.locator(".step-card")).to_have_count(1)
    assert shape() == [("BOOLEAN_CONDITION", ["STORE_VARS"], ["DO_NOTHING"])]
    with saved(page, r"/edit/add/$"):
        drag(page, palette(page, "RETURN_JSON"), page.locator("#steps"))
    expect(page.locator("#steps > .step-card")).to_have_count(2)
    assert shape() == [("BOOLEAN_CONDITION", ["STORE_VARS"], ["DO_NOTHING"]), "RETURN_JSON"]
    expect(page.locator(f"#card-{condition} .branch-then .branch-count")).to_have_text("1 step")
    screenshot(page, "branches-dragged-1280")

    # From Then into Else, above the Do nothing.
    _, (store,), (nothing,) = ids()
    with saved(page, r"/edit/move/$"):
        drag_card(page, page.locator(f"#card-{store}"), page.locator(f"#card-{nothing}"))
    expect(otherwise.locator(".step-card")).to_have_count(2)
    expect(then.locator(".drop-hint")).to_be_visible()
    assert shape() == [("BOOLEAN_CONDITION", [], ["STORE_VARS", "DO_NOTHING"]), "RETURN_JSON"]

    # Down from the end of Else goes out, after the If/then; focus stays on the button.
    page.locator(f"#down-{nothing}").focus()
    with saved(page, r"/edit/move/$"):
        page.keyboard.press("Enter")
    expect(page.locator(f"#steps > #card-{nothing}")).to_have_count(1)
    expect(page.locator(f"#down-{nothing}")).to_be_focused()
    assert shape() == [("BOOLEAN_CONDITION", [], ["STORE_VARS"]), "DO_NOTHING", "RETURN_JSON"]
    # Up goes back in, to the end of Else; twice more, over Store, to the end of Then.
    page.keyboard.press("Shift+Tab")
    for _ in range(3):
        with saved(page, r"/edit/move/$"):
            page.keyboard.press("Enter")
        expect(page.locator(f"#up-{nothing}")).to_be_focused()
    assert shape() == [("BOOLEAN_CONDITION", ["DO_NOTHING"], ["STORE_VARS"]), "RETURN_JSON"]

    # Fold Then: its step is hidden, the count stays, and the fold outlives a re-render.
    summary = fold(page, condition, "then").locator("> summary")
    summary.click()
    expect(page.locator(f"#card-{nothing}")).to_be_hidden()
    expect(summary).to_contain_text("Then 1 step")
    with saved(page, r"/edit/add/$"):
        page.get_by_role("button", name="Add Delay", exact=True).click()
    expect(page.locator("#steps > .step-card")).to_have_count(3)  # after the selected one
    expect(fold(page, condition, "then")).not_to_have_attribute("open", "")
    expect(page.locator(f"#card-{nothing}")).to_be_hidden()
    page.reload()
    expect(fold(page, condition, "then")).not_to_have_attribute("open", "")
    assert shape()[0] == ("BOOLEAN_CONDITION", ["DO_NOTHING"], ["STORE_VARS"])
    screenshot(page, "branches-folded-1280")
    summary.click()
    expect(page.locator(f"#card-{nothing}")).to_be_visible()


def test_adding_into_an_empty_branch_with_the_keyboard_on_a_phone(
    page_factory, admin_user, empty_flow
):
    page = open_editor(page_factory, admin_user, empty_flow, width=390)
    page.get_by_role("button", name="Add If/then condition", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#steps > .step-card.is-condition")).to_have_count(1)
    condition, _, _ = ids()

    page.get_by_role("link", name=re.compile(r"Add step here in Else")).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#palette-heading")).to_be_focused()
    expect(fold(page, condition, "else")).to_have_class(re.compile("is-target"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add Create user")).to_be_focused()
    page.get_by_role("button", name="Add Store shared variables").focus()
    with saved(page, r"/edit/add/$"):
        page.keyboard.press("Enter")
    expect(branch(page, condition, "else").locator(".step-card")).to_have_count(1)
    page.get_by_role("button", name="Add Do nothing", exact=True).click()
    expect(branch(page, condition, "else").locator(".step-card")).to_have_count(2)
    assert shape() == [("BOOLEAN_CONDITION", [], ["STORE_VARS", "DO_NOTHING"])]

    _, _, (store, nothing) = ids()
    page.locator(f"#up-{store}").focus()
    with saved(page, r"/edit/move/$"):
        page.keyboard.press("Enter")
    expect(page.locator(f"#up-{store}")).to_be_focused()
    assert shape() == [("BOOLEAN_CONDITION", ["STORE_VARS"], ["DO_NOTHING"])]
    page.locator(f"#card-{nothing} .step-select").click()
    expect(page.locator(f"#card-{nothing}")).to_have_class(re.compile("is-selected"))
    screenshot(page, "branches-keyboard-390")
    page.locator("#canvas").screenshot(path=ARTIFACTS / "branches-canvas-390.png")
