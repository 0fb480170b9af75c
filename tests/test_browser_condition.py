"""Building an If/then condition in the inspector, in a real browser."""

import json

import pytest
from playwright.sync_api import expect

from flows_app.services import create_flow
from tests.browser import ARTIFACTS, screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
PRO = {"context": {"user": {"user_id": "auth0|123", "plan": "pro", "logins": 7}}}
FREE = {"context": {"user": {"user_id": "auth0|123", "plan": "free", "logins": 7}}}


def logic(step_id: str, action: str, **params) -> dict:
    return {"id": step_id, "type": "FLOW", "action": action, "params": params}


@pytest.fixture
def flow(db, admin_user):
    check = logic(
        "check",
        "BOOLEAN_CONDITION",
        **{
            "if": {"operator": "AND", "operands": []},
            "then": [logic("welcome", "DO_NOTHING")],
            "else": [logic("nudge", "DO_NOTHING")],
        },
    )
    return create_flow(
        name="Plans",
        owner=admin_user,
        definition={"schema_version": 1, "actions": [check]},
        test_data=PRO,
    )


def open_condition(page_factory, user, flow, width):
    page = page_factory(width=width)
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/?step=check")
    return page


def rows(page):
    return page.locator(".cond-leaf")


def fill_row(row, left, operator, right=None):
    row.locator(".cond-left").fill(left)
    row.locator(".cond-op").select_option(label=operator)
    if right is not None:
        row.locator(".cond-right").fill(right)


def add_to(group, what):
    group.locator(":scope > .cond-tools").get_by_role("button", name=what).click()


def test_an_editor_builds_a_condition_with_a_nested_group_and_sees_the_branch_it_takes(
    page_factory, admin_user, flow
):
    page = open_condition(page_factory, admin_user, flow, 1280)
    root = page.locator(".cond-root")
    expect(root).to_contain_text("No conditions yet.")

    # First row: the left value comes from the variable picker.
    add_to(root, "Add condition")
    first = rows(page).first
    expect(first.locator(".cond-left")).to_be_focused()
    # Adding the row saves the form; its answer swaps pieces of the inspector. Let it land
    # before opening the picker.
    expect(page.locator("#save-status")).to_have_text("Saved.")
    page.get_by_text("Insert variable into Condition").click()
    page.locator(".condition-field .picker-item", has_text="context.user.plan").first.click()
    expect(first.locator(".cond-left")).to_have_value("{{ context.user.plan }}")
    first.locator(".cond-right").fill("pro")

    add_to(root, "Add condition")
    fill_row(rows(page).nth(1), "{{ context.user.logins }}", "is greater than", "3")

    add_to(root, "Add group")
    nested = root.locator(".cond-group").first
    nested.locator(".cond-join").select_option(label="any of")
    inner = nested.locator(".cond-leaf").first
    fill_row(inner, "{{ context.user.nickname }}", "exists")
    expect(inner.locator(".cond-right")).to_be_hidden()  # one value only
    add_to(nested, "Add condition")
    fill_row(nested.locator(".cond-leaf").nth(1), "{{ context.user.plan }}", "starts with", "p")

    # A row added and removed again leaves nothing behind.
    add_to(root, "Add condition")
    expect(rows(page)).to_have_count(5)
    rows(page).last.get_by_role("button", name="Remove condition").click()
    expect(rows(page)).to_have_count(4)

    verdict = page.locator("#preview-if .cond-verdict")
    expect(verdict).to_have_text(
        "With the current test data this takes the Then branch (result: true)."
    )
    expect(page.locator("#preview-if .cond-value.is-undefined")).to_have_text("undefined")
    screenshot(page, "condition-then-1280")
    page.locator("#in-if").screenshot(path=ARTIFACTS / "condition-field-1280.png")

    # Enter in a value saves the step (it does not press the builder's first button).
    page.locator("#save-status").evaluate("status => { status.textContent = ''; }")
    rows(page).nth(1).locator(".cond-right").press("Enter")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(rows(page)).to_have_count(4)
    # Earlier edits saved too, one after another: read the draft once the last answer is in.
    expect(page.locator(".htmx-request")).to_have_count(0)
    flow.refresh_from_db()
    params = flow.draft["actions"][0]["params"]
    assert params["if"] == {
        "operator": "AND",
        "operands": [
            {"operator": "EQUALS", "operands": ["{{ context.user.plan }}", "pro"]},
            {"operator": "GREATER_THAN", "operands": ["{{ context.user.logins }}", "3"]},
            {
                "operator": "OR",
                "operands": [
                    {"operator": "EXISTS", "operands": ["{{ context.user.nickname }}"]},
                    {"operator": "STARTS_WITH", "operands": ["{{ context.user.plan }}", "p"]},
                ],
            },
        ],
    }
    assert [s["id"] for s in params["then"]] == ["welcome"]
    assert [s["id"] for s in params["else"]] == ["nudge"]

    page.locator("#test-data-input").fill(json.dumps(FREE, indent=2))
    page.get_by_role("button", name="Save test data").click()
    expect(verdict).to_have_text(
        "With the current test data this takes the Else branch (result: false)."
    )
    screenshot(page, "condition-else-1280")

    # The builder reads the saved condition back the same way.
    page.reload()
    expect(rows(page)).to_have_count(4)
    expect(page.locator(".cond-root .cond-group .cond-join")).to_have_value("OR")
    expect(verdict).to_contain_text("Else branch")


def test_the_builder_on_a_phone(page_factory, admin_user, flow):
    flow.draft["actions"][0]["params"]["if"] = {
        "operator": "OR",
        "operands": [
            {"operator": "EQUALS", "operands": ["{{ context.user.plan }}", "pro"]},
            {
                "operator": "AND",
                "operands": [
                    {"operator": "IS_NOT_EMPTY", "operands": ["{{ context.user.user_id }}"]},
                    {"operator": "LESS_THAN", "operands": ["{{ context.user.logins }}", 10]},
                ],
            },
        ],
    }
    flow.save()
    page = page_factory(width=390)
    sign_in(page, admin_user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/")
    page.locator("#select-check").click()  # the inspector comes in through htmx
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#preview-if .cond-verdict")).to_contain_text("Then branch")
    for row in rows(page).all():
        box, field = row.bounding_box(), page.locator("#in-if").bounding_box()
        assert box["x"] + box["width"] <= field["x"] + field["width"] + 1  # nothing sticks out
    screenshot(page, "condition-390")

    # The builder's buttons work in an inspector that htmx brought in, and post nothing.
    group = page.locator(".cond-root .cond-group")
    group.locator(":scope > .cond-tools").get_by_role("button", name="Add condition").click()
    fill_row(group.locator(".cond-leaf").last, "{{ context.user.plan }}", "does not equal", "x")
    page.locator("#save-status").evaluate("status => { status.textContent = ''; }")
    group.locator(".cond-leaf").last.locator(".cond-right").press("Enter")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    # Earlier edits saved too, one after another: read the draft once the last answer is in.
    expect(page.locator(".htmx-request")).to_have_count(0)
    flow.refresh_from_db()
    inner = flow.draft["actions"][0]["params"]["if"]["operands"][1]["operands"]
    assert [leaf["operator"] for leaf in inner] == ["IS_NOT_EMPTY", "LESS_THAN", "NOT_EQUALS"]
    assert inner[1]["operands"][1] == 10  # still a number
    page.locator("#in-if").screenshot(path=ARTIFACTS / "condition-field-390.png")
