"""An admin manages one connection of each kind in a real browser, as a person would."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from vault_app.models import Connection, Provider

pytestmark = pytest.mark.browser


def labelled(page, label):
    """The form field with this label; a required field's label ends in an asterisk."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def add_connection(page, kind_label, values, secret_values):
    page.get_by_role("link", name="New connection").first.click()
    page.get_by_role("link", name=re.compile(rf"^{kind_label}\b")).click()
    for label, value in {**values, **secret_values}.items():
        field = labelled(page, label)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Save and test").click()


def test_an_admin_creates_tests_edits_and_deletes_connections(
    page_factory, admin_user, auth0_standin, smtp_standin, twilio_standin
):
    page = page_factory()
    sign_in(page, admin_user.email, PASSWORD)
    page.get_by_role("link", name="Vault").click()
    expect(page.get_by_text("No connections yet")).to_be_visible()

    add_connection(
        page,
        "Auth0",
        {
            "Name": "Acme tenant",
            "Tenant domain": auth0_standin.domain,
            "Client ID": auth0_standin.client_id,
        },
        {"Client Secret": auth0_standin.client_secret},
    )
    expect(page.get_by_text("Test passed: Auth0 issued a Management API token")).to_be_visible()

    add_connection(
        page,
        "SMTP",
        {
            "Name": "Mail relay",
            "Host": smtp_standin.host,
            "Port": str(smtp_standin.port),
            "Security": "none",
            "Username": smtp_standin.username,
            "Default sender email": "no-reply@example.com",
        },
        {"Password": smtp_standin.password},
    )
    expect(page.get_by_text("Test passed: Connected to")).to_be_visible()

    add_connection(
        page,
        "Twilio",
        {
            "Name": "Twilio main",
            "Account SID": twilio_standin.account_sid,
            "Default From number": twilio_standin.from_number,
            "API base URL": twilio_standin.base_url,
        },
        {"Auth Token": "not the token"},
    )
    expect(page.locator("#id_auth_token_error")).to_contain_text(
        "Test failed: Twilio error 20003: Authenticate"
    )
    twilio = Connection.objects.get(name="Twilio main")
    expect(page).to_have_url(re.compile(rf"/vault/{twilio.pk}/$"))
    expect(labelled(page, "Account SID")).to_have_value(twilio_standin.account_sid)
    screenshot(page, "vault-twilio-test-failed")
    labelled(page, "Auth Token").fill(twilio_standin.auth_token)
    page.get_by_role("button", name="Save and test").click()
    expect(page.get_by_text("Test passed: Twilio account Sluice test account")).to_be_visible()
    screenshot(page, "vault-list-1280")

    row = page.locator("tr", has_text="Acme tenant")
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_text("A value is set and stays hidden")).to_be_visible()
    expect(labelled(page, "Client Secret")).to_have_value("")
    labelled(page, "Client ID").fill("someone-else")
    page.get_by_role("button", name="Save and test").click()
    expect(page.locator("#id_client_secret_error")).to_contain_text(
        "Test failed: access_denied: Unauthorized"
    )
    screenshot(page, "vault-auth0-access-denied")
    labelled(page, "Client ID").fill(auth0_standin.client_id)
    page.get_by_role("button", name="Save", exact=True).click()

    row = page.locator("tr", has_text="Acme tenant")
    row.get_by_role("button", name="Test").click()
    expect(row.locator(".test-status")).to_contain_text("Passed")
    expect(row.locator(".test-status")).to_contain_text("Auth0 issued a Management API token")

    page.get_by_label("Email provider").select_option(label="Mail relay")
    page.get_by_label("Phone provider").select_option(label="Twilio main")
    page.get_by_role("button", name="Save providers").click()
    expect(page.get_by_text("Saved the providers")).to_be_visible()

    page.locator("tr", has_text="Twilio main").get_by_role("link", name="Delete").click()
    expect(page.get_by_text("It is the phone provider")).to_be_visible()
    page.get_by_role("button", name="Delete Twilio main").click()
    expect(page.get_by_text("Deleted Twilio main")).to_be_visible()

    for secret in (auth0_standin.client_secret, smtp_standin.password, twilio_standin.auth_token):
        assert secret not in page.content()
    assert sorted(Connection.objects.values_list("name", flat=True)) == [
        "Acme tenant",
        "Mail relay",
    ]
    assert Provider.objects.get(purpose="email").connection.name == "Mail relay"
    assert len(auth0_standin.requests_to("/oauth/token")) == 3


def test_a_password_typed_before_a_mistake_is_kept_and_saved(
    page_factory, admin_user, smtp_standin
):
    page = page_factory()
    sign_in(page, admin_user.email, PASSWORD)
    page.get_by_role("link", name="Vault").click()
    add_connection(
        page,
        "SMTP",
        {
            "Name": "Mail relay",
            "Host": smtp_standin.host,
            "Port": str(smtp_standin.port),
            "Security": "none",
            "Username": smtp_standin.username,
            "Default sender email": "not-an-email",
        },
        {"Password": smtp_standin.password},
    )
    expect(page.locator("#id_sender_email_error")).to_contain_text("Enter a valid email address")
    password_field = page.locator(".field", has=labelled(page, "Password"))
    expect(password_field).to_contain_text("Kept from your last try")
    expect(labelled(page, "Password")).to_have_value("")
    assert smtp_standin.password not in page.content()
    screenshot(page, "vault-smtp-password-kept-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "vault-smtp-password-kept-390")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the form scrolls sideways by {overflow}px at 390px"
    page.set_viewport_size({"width": 1280, "height": 900})

    labelled(page, "Default sender email").fill("no-reply@example.com")
    page.get_by_role("button", name="Save and test").click()
    expect(page.get_by_text("Test passed: Connected to")).to_contain_text(
        f"logged in as {smtp_standin.username}"
    )
    expect(page).to_have_url(re.compile(r"/vault/$"))
    connection = Connection.objects.get()
    assert connection.secrets() == {"password": smtp_standin.password}
    logins = [(user, accepted) for _, user, accepted in smtp_standin.logins]
    assert logins == [(smtp_standin.username, True)]


def test_the_vault_fits_a_phone_screen(page_factory, admin_user, auth0_standin):
    Connection.objects.create(
        kind="auth0", name="Acme tenant", config={"domain": auth0_standin.domain, "client_id": "x"}
    )
    page = page_factory(width=390, height=844)
    sign_in(page, admin_user.email, PASSWORD)
    for path, name in (
        ("/vault/", "vault-list-390"),
        ("/vault/new/?kind=smtp", "vault-new-390"),
        ("/people/", "people-390"),
    ):
        page.goto(path)
        screenshot(page, name)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"


def test_a_viewer_neither_sees_nor_opens_the_vault(page_factory, viewer_user):
    page = page_factory()
    sign_in(page, viewer_user.email, PASSWORD)
    expect(page.get_by_role("link", name="Vault")).to_have_count(0)
    response = page.goto("/vault/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    screenshot(page, "vault-viewer-403")
