"""What the editor shows before a run: previews and the variable picker that know what the
latest test run knew, and problems (no provider, no condition) marked before publishing."""

import re

import pytest
from playwright.sync_api import expect

from flows_app.services import create_flow
from tests.browser import ARTIFACTS, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import auth0_connection, connection, email_provider, step
from tests.standins.auth0 import new_user

pytestmark = pytest.mark.browser
WIDTHS = [1280, 390]


def logic(step_id: str, action: str, **params) -> dict:
    return {"id": step_id, "type": "FLOW", "action": action, "params": params}


def open_editor(page_factory, user, flow, width, step_id):
    page = page_factory(width=width)
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/?step={step_id}")
    return page


def shoot(page, name, part="#inspector"):
    """A picture of one part of the page, to read it at this size."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(part).screenshot(path=ARTIFACTS / f"{name}.png")


def picker_of(page, label):
    """Open the variable picker under an input and return its list."""
    page.get_by_text(f"Insert variable into {label}", exact=True).click()
    return page.locator(".picker[open] .picker-list").first


@pytest.fixture
def welcome(db, admin_user, auth0_standin, smtp_standin):
    """get_user (a pro user at the Auth0 stand-in), set_plan from it, then welcome."""
    user = new_user({"user_id": "42", "email": "ada@example.com", "connection": "DB"}, "auth0")
    auth0_standin.users[user["user_id"]] = {**user, "app_metadata": {"plan": "pro"}}
    tenant = auth0_connection(auth0_standin)
    email_provider(smtp_standin)
    plan = "{{ actions.get_user.app_metadata.plan }}"
    return create_flow(
        name="Welcome",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|42"),
                logic("set_plan", "STORE_VARS", vars={"plan": plan}),
                step(
                    "welcome",
                    "SEND_EMAIL",
                    to="{{ actions.get_user.email }}",
                    subject="Plan: {{ vars.plan }}",
                    body="<p>Welcome</p>",
                ),
            ],
        },
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_previews_and_the_picker_know_what_the_test_run_knew(
    page_factory, admin_user, welcome, smtp_standin, width
):
    page = open_editor(page_factory, admin_user, welcome, width, "welcome")
    subject = page.locator("#preview-subject")
    expect(subject).to_have_text("Plan:")
    warnings = page.locator("#preview-warnings")
    expect(warnings).to_contain_text(
        "vars.plan is undefined: step set_plan stores it: run a test to preview it"
    )
    picker = picker_of(page, "Subject")
    email = picker.get_by_role("button", name=re.compile(r"^actions\.get_user\.email\b"))
    expect(email).to_contain_text("The user's email address.")
    expect(picker).to_contain_text("documented fields (no output in the latest test run)")
    expect(picker.get_by_role("button", name=re.compile(r"^vars\.plan\b"))).to_contain_text(
        "set by set_plan"
    )
    screenshot(page, f"previews-before-run-{width}")
    shoot(page, f"previews-inspector-before-run-{width}")

    page.get_by_role("button", name="Run test").click()
    expect(page.locator("#test-run .run-status-line")).to_contain_text("Succeeded")
    expect(subject).to_have_text("Plan: pro")  # refreshed when the run ended
    expect(warnings).not_to_contain_text("vars.plan")
    assert smtp_standin.messages[0].message["Subject"] == "Plan: pro"

    page.reload()
    page.locator("#in-subject").fill("Plan: ")
    picker = picker_of(page, "Subject")
    expect(picker).to_contain_text("fields from the latest test run")
    shoot(page, f"previews-inspector-after-run-{width}")
    nested = picker.get_by_role(
        "button", name=re.compile(r"^actions\.get_user\.app_metadata\.plan")
    )
    nested.click()
    expect(page.locator("#in-subject")).to_have_value(
        "Plan: {{ actions.get_user.app_metadata.plan }}"
    )
    expect(subject).to_have_text("Plan: pro")
    screenshot(page, f"previews-after-run-{width}")


@pytest.fixture
def unready(db, admin_user, smtp_standin):
    """An If/then without a condition, and an email while the vault has no email provider."""
    connection("smtp", "Mail relay", smtp_standin.credentials())
    mail = step("mail", "SEND_EMAIL", to="ada@example.com", subject="Hi", body="<p>Hi</p>")
    check = logic("check", "BOOLEAN_CONDITION", **{"then": [mail], "else": []})
    return create_flow(
        name="Not ready",
        owner=admin_user,
        definition={"schema_version": 1, "actions": [check]},
        test_data={"vars": {"plan": "pro"}},
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_problems_show_on_the_steps_until_they_are_fixed(page_factory, admin_user, unready, width):
    page = open_editor(page_factory, admin_user, unready, width, "check")
    check, mail = page.locator("#card-check > .step-row"), page.locator("#card-mail")
    expect(check).to_contain_text("Condition: Add a condition: without one, this If/then")
    expect(mail).to_contain_text("No email provider is configured, so this step cannot send.")
    expect(page.locator("#card-mail .pill-ok")).to_have_count(0)
    page.get_by_role("button", name="Publish").click()
    refusal = page.locator("#publish .alert-error")
    expect(refusal).to_contain_text("mail: No email provider is configured")
    expect(refusal).to_contain_text("check · Condition: Add a condition")
    screenshot(page, f"problems-before-{width}")
    shoot(page, f"problems-inspector-{width}")
    shoot(page, f"problems-canvas-{width}", "#canvas")

    # The condition: one comparison is enough.
    root = page.locator(".cond-root")
    root.locator(":scope > .cond-tools").get_by_role("button", name="Add condition").click()
    row = page.locator(".cond-leaf").first
    row.locator(".cond-left").fill("{{ vars.plan }}")
    row.locator(".cond-op").select_option(label="exists")
    row.locator(".cond-op").dispatch_event("change")
    expect(check).to_contain_text("Ready")

    # The provider: an admin follows the link, chooses one, and comes back.
    mail.get_by_role("link", name="Set up the email provider in the vault").click()
    expect(page).to_have_url(re.compile(r"/vault/#providers-heading$"))
    page.get_by_label("Email provider").select_option(label="Mail relay")
    page.get_by_role("button", name="Save providers").click()
    expect(page.get_by_text("Saved the providers.")).to_be_visible()
    page.goto(f"/flows/{unready.pk}/edit/")
    expect(page.locator("#card-mail")).to_contain_text("Ready")
    expect(page.locator("#canvas .has-problems")).to_have_count(0)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published version 1.")).to_be_visible()
    screenshot(page, f"problems-fixed-{width}")
