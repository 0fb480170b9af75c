"""An admin reads the audit log in a real browser: a change they made, the filters and their
errors, and the exports, at desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_finds_who_stopped_a_sign_in(page_factory, admin_user, viewer_user):
    page = page_factory()
    sign_in(page, admin_user.email, PASSWORD)
    page.goto(f"/people/{viewer_user.pk}/")
    page.get_by_label("Can sign in").uncheck()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/people/")

    page.get_by_role("link", name="Audit").click()
    rows = page.locator(".audit-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Stopped a person's sign-in")
    expect(rows.first).to_contain_text(viewer_user.email)
    expect(rows.first).to_contain_text(admin_user.email)
    expect(rows.first).to_contain_text("127.0.0.1")

    page.get_by_label("Kind").select_option("flow")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()

    page.get_by_label("Kind").select_option("person")
    page.get_by_label("From").fill("2026-05-02")
    page.get_by_label("To").fill("2026-05-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("The end date is before the start date.")).to_be_visible()
    expect(page.get_by_label("Kind")).to_have_value("person")
    screenshot(page, "audit-filter-error-1280")

    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    screenshot(page, "audit-1280")

    phone = page_factory(width=390, height=844)
    sign_in(phone, admin_user.email, PASSWORD)
    phone.goto("/audit/")
    expect(phone.locator(".audit-table tbody tr")).to_have_count(1)
    screenshot(phone, "audit-390")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px"
