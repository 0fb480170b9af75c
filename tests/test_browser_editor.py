"""Building, previewing, publishing and test-running a flow in the editor, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from flows_app.models import Flow, Run
from flows_app.services import create_flow
from tests.browser import fill_inspector, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import auth0_connection, phone_provider
from tests.standins.auth0 import new_user

pytestmark = pytest.mark.browser
SPEC_PATH = "/api/v2/users/{{ functions.encodeURIComponent(context.user.user_id) }}"
TEST_DATA = {"context": {"user": {"user_id": "auth0|123", "phone_number": "+15550100"}}}


@pytest.fixture
def vendors(db, auth0_standin, twilio_standin):
    user = new_user(
        {
            "user_id": "123",
            "email": "ada@example.com",
            "connection": "Username-Password-Authentication",
        },
        "auth0",
    )
    auth0_standin.users[user["user_id"]] = user
    return auth0_connection(auth0_standin), phone_provider(twilio_standin)


@pytest.fixture
def empty_flow(db, admin_user):
    return create_flow(name="Welcome", owner=admin_user, test_data=TEST_DATA)


def open_editor(page_factory, user, flow, width=1280):
    page = page_factory(width=width)
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/")
    return page


def cards(page):
    return page.locator("#steps > .step-card")


def drag(page, source, target, where="bottom"):
    """Press, move in small steps and release: SortableJS's fallback follows the mouse."""
    start = source.bounding_box()
    box = target.bounding_box()
    y = box["y"] + (box["height"] - 4 if where == "bottom" else 4)
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 10, steps=5)
    page.mouse.move(box["x"] + box["width"] / 2, y, steps=20)
    page.mouse.move(box["x"] + box["width"] / 2, y + (2 if where == "bottom" else -2), steps=3)
    page.mouse.up()


def palette(page, action):
    return page.locator(f".palette [data-action='AUTH0/{action}']")


def settled(page):
    """Wait until the last edit's answers are in and focus has gone where they said: a key
    pressed before that may land on an element about to be replaced."""
    page.wait_for_load_state("networkidle")
    expect(page.locator("#canvas:not([data-focus-id])")).to_have_count(1)


def step_ids(flow):
    flow.refresh_from_db()
    return [s["id"] for s in flow.draft["actions"]]


def open_step(page, step_id):
    """Select a step with the keyboard and wait until the inspector shows it."""
    page.locator("#inspector").evaluate("inspector => inspector.setAttribute('data-old', '')")
    page.locator(f"#select-{step_id}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#inspector:not([data-old]) #step-id")).to_have_value(step_id)
    expect(page.locator(f"#card-{step_id}")).to_have_class(re.compile("is-selected"))


def configure(page, card_index, values):
    card = cards(page).nth(card_index)
    card.locator(".step-select").click()
    expect(card).to_have_class(re.compile("is-selected"))
    page.locator("#save-status").evaluate("status => { status.textContent = ''; }")
    fill_inspector(page, values)


def test_an_editor_builds_a_flow_by_dragging_then_previews_publishes_and_runs_it(
    page_factory, admin_user, empty_flow, vendors
):
    tenant, _ = vendors
    page = open_editor(page_factory, admin_user, empty_flow)
    expect(page.get_by_text("No steps yet")).to_be_visible()

    drag(page, palette(page, "GET_USER"), page.locator("#steps"))
    expect(cards(page)).to_have_count(1)
    drag(page, palette(page, "SEND_SMS"), page.locator("#steps"))
    expect(cards(page)).to_have_count(2)
    drag(page, palette(page, "SEND_REQUEST"), page.locator("#steps"))
    expect(cards(page)).to_have_count(3)
    actions = [s["action"] for s in Flow.objects.get().draft["actions"]]
    assert actions == ["GET_USER", "SEND_SMS", "SEND_REQUEST"]

    # Reorder: the Custom API request goes before Send SMS.
    with page.expect_response(re.compile(r"/edit/move/$")):
        drag(page, cards(page).nth(2), cards(page).nth(1), where="top")
    expect(cards(page).nth(1)).to_contain_text("Custom API request")
    assert [s["action"] for s in Flow.objects.get().draft["actions"]] == [
        "GET_USER",
        "SEND_REQUEST",
        "SEND_SMS",
    ]
    expect(cards(page).first).to_contain_text("problem")

    connection = str(tenant.pk)
    configure(
        page, 0, {"#in-connection_id": connection, "#in-user_id": "{{ context.user.user_id }}"}
    )
    configure(page, 1, {"#in-connection_id": connection, "#in-method": "GET"})
    path = page.locator("#in-pathname")
    path.fill(SPEC_PATH)
    expect(page.locator("#preview-pathname")).to_have_text("/api/v2/users/auth0%7C123")
    path.fill("/api/v2/users/{{ context.user.user_id ")
    expect(page.locator("#preview-pathname .preview-error")).to_contain_text("line 1, column")
    expect(path).to_have_value("/api/v2/users/{{ context.user.user_id ")
    path.fill(SPEC_PATH)
    path.dispatch_event("change")
    expect(page.locator("#preview-pathname")).to_have_text("/api/v2/users/auth0%7C123")
    expect(page.locator("#save-status")).to_have_text("Saved.")

    configure(
        page,
        2,
        {
            "#in-to": "{{ context.user.phone_number }}",
            "#in-message": "Hello {{ actions." + step_ids(empty_flow)[0] + ".email }}",
        },
    )
    expect(page.locator(".sms-count")).to_contain_text(re.compile(r"^[1-9]\d* characters"))
    expect(cards(page).nth(2)).to_contain_text("Ready")
    screenshot(page, "editor-built-1280")

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published version 1.")).to_be_visible()
    page.get_by_role("button", name="Run test").click()
    expect(page.locator("#test-run .run-status-line")).to_contain_text("Succeeded")
    expect(page.locator("#test-run .result-step")).to_have_count(3)
    run = Run.objects.get()
    assert run.trigger == Run.Trigger.TEST and run.status == Run.Status.SUCCEEDED
    screenshot(page, "editor-ran-1280")

    page.reload()
    expect(cards(page)).to_have_count(3)
    expect(cards(page).nth(1)).to_contain_text("Custom API request")


def test_the_same_flow_built_with_the_keyboard_only(page_factory, admin_user, empty_flow, vendors):
    tenant, _ = vendors
    page = open_editor(page_factory, admin_user, empty_flow, width=390)
    for label in ("Get user", "Send SMS", "Custom API request"):
        page.get_by_role("button", name=f"Add {label}", exact=True).focus()
        page.keyboard.press("Enter")
        expect(cards(page).filter(has_text=label)).to_have_count(1)
        settled(page)
    first, sms, api = step_ids(empty_flow)
    # Each Add went after the step it had just added (the selected one).
    assert [s["action"] for s in Flow.objects.get().draft["actions"]] == [
        "GET_USER",
        "SEND_SMS",
        "SEND_REQUEST",
    ]
    page.locator(f"#up-{api}").focus()
    with page.expect_response(re.compile(r"/edit/move/$")):
        page.keyboard.press("Enter")
    expect(cards(page).nth(1)).to_contain_text("Custom API request")
    expect(page.locator(f"#up-{api}")).to_be_focused()
    assert step_ids(empty_flow) == [first, api, sms]

    open_step(page, api)
    page.locator("#in-connection_id").select_option(str(tenant.pk))
    page.locator("#in-pathname").focus()
    page.keyboard.type("/api/v2/users/")
    page.get_by_text("Insert variable into Path").focus()
    page.keyboard.press("Enter")
    page.locator("#in-pathname").locator("xpath=..").get_by_role(
        "button", name="context.user.user_id", exact=True
    ).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#in-pathname")).to_have_value("/api/v2/users/{{ context.user.user_id }}")
    expect(page.locator("#preview-pathname")).to_have_text("/api/v2/users/auth0|123")
    page.get_by_role("button", name="Save step").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    screenshot(page, "editor-keyboard-390")

    open_step(page, first)
    page.locator("#save-status").evaluate("status => { status.textContent = ''; }")
    page.locator("#alias").focus()
    page.keyboard.type("Find the user")
    page.keyboard.press("Tab")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(cards(page).first).to_contain_text("Find the user")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile(f"^Delete .*{sms}")).focus()
    page.keyboard.press("Enter")
    expect(cards(page)).to_have_count(2)
    expect(page.locator("#undo-button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(cards(page)).to_have_count(3)
    screenshot(page, "editor-undo-390")


def test_a_viewer_sees_the_editor_read_only(page_factory, viewer_user, empty_flow):
    page = open_editor(page_factory, viewer_user, empty_flow)
    expect(page.get_by_text("only editors and admins can change it")).to_be_visible()
    expect(page.locator(".palette")).to_have_count(0)
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
