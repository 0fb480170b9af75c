"""The inspector's layout, in a real browser."""

import pytest
from playwright.sync_api import expect

from flows_app.services import create_flow
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import step

pytestmark = pytest.mark.browser


@pytest.fixture
def email_flow(db, admin_user):
    return create_flow(
        name="Mail",
        owner=admin_user,
        definition={"schema_version": 1, "actions": [step("mail", "SEND_EMAIL", to="a@b.c")]},
        test_data={"context": {"user": {"email": "ada@example.com"}}},
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_the_sender_picker_and_preview_sit_under_the_sender_fields(
    page_factory, admin_user, email_flow, width
):
    page = page_factory(width=width)
    sign_in(page, admin_user.email, PASSWORD)
    page.goto(f"/flows/{email_flow.pk}/edit/?step=mail")
    sender = page.locator(".sender-field")
    # Off: the checkbox and its help, nothing to insert into and nothing to preview.
    expect(sender.locator(".picker")).to_be_hidden()
    expect(page.locator("#preview-from")).to_be_hidden()

    page.get_by_label("Use custom sender email").check()
    name = page.locator("#in-from-name")
    expect(name).to_be_visible()
    page.locator("#in-from-email").fill("{{ context.user.email }}")
    picker, preview = sender.locator(".picker"), page.locator("#preview-from")
    expect(preview).to_contain_text("ada@example.com")
    expect(picker).to_be_visible()
    assert picker.bounding_box()["y"] > name.bounding_box()["y"]
    assert preview.bounding_box()["y"] > picker.bounding_box()["y"]
    screenshot(page, f"editor-sender-{width}")
