"""The JSON web token connection and the verification and Twilio steps, in a real browser."""

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from flows_app.models import Flow
from flows_app.services import create_flow
from tests.browser import ARTIFACTS, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import connection
from vault_app.models import Connection

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_pastes_a_key_pair_and_the_test_signs_and_verifies(
    page_factory, admin_user, width
):
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    page = page_factory(width=width)
    sign_in(page, admin_user.email, PASSWORD)
    page.goto("/vault/new/")
    page.get_by_role("link", name=re.compile("JSON web token")).click()
    page.get_by_label(re.compile("^Name")).fill("Invite keys")
    page.get_by_label(re.compile("^Algorithm")).select_option("ES256")
    page.get_by_label("Private key").fill("not a key")
    page.get_by_role("button", name="Save and test").click()
    expect(
        page.get_by_text("The private key is not an unencrypted PEM private key")
    ).to_be_visible()
    expect(page.get_by_label("Private key")).to_have_value("")  # never sent back
    screenshot(page, f"vault-jwt-error-{width}")
    page.get_by_label("Private key").fill(private)
    page.get_by_role("button", name="Save and test").click()
    expect(page.get_by_text("Test passed: Signs and verifies ES256 tokens.")).to_be_visible()
    screenshot(page, f"vault-jwt-saved-{width}")
    assert Connection.objects.get(name="Invite keys").secrets()["private_key"] == private.strip()


@pytest.mark.parametrize("width", [1280, 390])
def test_an_editor_sets_email_rules_and_previews_twiml(page_factory, editor_user, width):
    twilio = connection(
        "twilio",
        "Marketing",
        {"account_sid": "AC" + "0" * 32, "auth_token": "t" * 32, "from_number": "+18005550175"},
    )
    flow = create_flow(
        name="Sign-up",
        owner=editor_user,
        definition={
            "schema_version": 1,
            "actions": [
                {
                    "id": "check_email",
                    "type": "EMAIL",
                    "action": "VERIFY_EMAIL",
                    "params": {"email": "{{ fields.email }}"},
                },
                {
                    "id": "call_code",
                    "type": "TWILIO",
                    "action": "MAKE_CALL",
                    "params": {
                        "connection_id": twilio.pk,
                        "from": "+18005550175",
                        "to": "{{ fields.phone }}",
                        "payload": "<Response/>",
                    },
                },
            ],
        },
        test_data={"fields": {"email": "sam@acme.test", "name": "Ann & <Bob>"}},
    )
    page = page_factory(width=width)
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/?step=check_email")
    page.get_by_label("Block account aliases").check()
    expect(page.locator("#save-status")).to_have_text("Saved.")
    page.get_by_label("Blocklist domains").fill("competitor.com\nrival.example")
    page.get_by_label("Blocklist domains").dispatch_event("change")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    screenshot(page, f"editor-email-rules-{width}")
    page.locator(".options-field").screenshot(
        path=ARTIFACTS / f"editor-email-rules-field-{width}.png"
    )
    rules = Flow.objects.get(pk=flow.pk).draft["actions"][0]["params"]["rules"]
    assert rules == {"block_aliases": True, "blocklist": ["competitor.com", "rival.example"]}

    page.goto(f"/flows/{flow.pk}/edit/?step=call_code")
    page.get_by_label(re.compile("^TwiML payload")).fill(
        "<Response><Say>Hello {{ fields.name }}</Say></Response>"
    )
    expect(page.locator("#preview-payload")).to_contain_text(
        "<Response><Say>Hello Ann &amp; &lt;Bob&gt;</Say></Response>"
    )
    screenshot(page, f"editor-twiml-preview-{width}")
    page.locator("#inspector-form").screenshot(
        path=ARTIFACTS / f"editor-twiml-inspector-{width}.png"
    )
