"""The editor with the JWT, OTP, EMAIL and TWILIO actions: every one can be added and edited,
its inputs save in Auth0's shapes, and its templated inputs preview live."""

import pytest
from django.urls import reverse

from flows_app.actions import ACTION_TYPES
from flows_app.services import create_flow
from tests.flow_helpers import connection

HTMX = {"HTTP_HX_REQUEST": "true"}
NEW_KEYS = [key for key in ACTION_TYPES if key.split("/")[0] in {"JWT", "OTP", "EMAIL", "TWILIO"}]


@pytest.fixture
def flow(db, admin_user):
    return create_flow(
        name="Sign-up",
        owner=admin_user,
        definition={"schema_version": 1, "actions": []},
        test_data={"fields": {"email": "sam@acme.test", "name": "Ann & <Bob>", "code": 48213}},
    )


def url(name, flow, *args):
    return reverse(name, args=[flow.pk, *args])


def last_step(flow) -> dict:
    flow.refresh_from_db()
    return flow.draft["actions"][-1]


def add(client, flow, key) -> dict:
    response = client.post(url("editor_add", flow), {"action": key}, **HTMX)
    assert response.status_code == 200
    return last_step(flow)


def test_the_palette_offers_the_eight_actions_in_their_groups(editor_client, flow):
    assert len(NEW_KEYS) == 8
    page = editor_client.get(url("flow_editor", flow)).content.decode()
    for group in ("JSON web token", "Verification", "Twilio"):
        assert f'<h3 class="palette-group">{group}</h3>' in page
    for key in NEW_KEYS:
        assert ACTION_TYPES[key].label in page


@pytest.mark.parametrize("key", NEW_KEYS)
def test_each_action_opens_in_the_inspector_with_its_inputs(editor_client, flow, key):
    step = add(editor_client, flow, key)
    html = editor_client.get(url("flow_editor", flow) + f"?step={step['id']}").content.decode()
    for spec in ACTION_TYPES[key].inputs:
        assert spec.label.replace("&", "&amp;") in html, spec.label


def test_a_new_generate_step_is_masked_and_asks_for_six_digits(editor_client, flow):
    step = add(editor_client, flow, "OTP/GENERATE_CODE")
    assert step["mask_output"] is True and step["params"] == {"length": 6}
    html = editor_client.get(url("flow_editor", flow) + f"?step={step['id']}").content.decode()
    assert 'id="mask-output" name="mask_output" checked' in html


def test_email_rules_save_from_checkboxes_and_lines(editor_client, flow):
    step = add(editor_client, flow, "EMAIL/VERIFY_EMAIL")
    editor_client.post(
        url("editor_save", flow, step["id"]),
        {
            "p-email": "{{ fields.email }}",
            "p-rules-require_mx_record": "true",
            "p-rules-block_aliases": "true",
            "p-rules-blocklist": "competitor.com\n\n  @rival.example \n",
            "p-rules-allowlist": "",
        },
        **HTMX,
    )
    assert last_step(flow)["params"] == {
        "email": "{{ fields.email }}",
        "rules": {
            "require_mx_record": True,
            "block_aliases": True,
            "blocklist": ["competitor.com", "@rival.example"],
        },
    }
    html = editor_client.get(url("flow_editor", flow) + f"?step={step['id']}").content.decode()
    assert 'name="p-rules-block_aliases" value="true" checked' in html
    assert "competitor.com\n@rival.example</textarea>" in html


def test_an_imported_step_keeps_its_exact_keys_when_another_input_is_edited(editor_client, flow):
    rules = {"require_mx_record": False, "block_free_emails": False, "allowlist": []}
    code_step = {
        "id": "check",
        "type": "OTP",
        "action": "VERIFY_CODE",
        "params": {"reference": "r", "code": 123456},
    }
    email_step = {
        "id": "mail",
        "type": "EMAIL",
        "action": "VERIFY_EMAIL",
        "params": {"email": "a@b.c", "rules": rules},
    }
    flow.draft = {"schema_version": 1, "actions": [email_step, code_step]}
    flow.save()
    editor_client.post(
        url("editor_save", flow, "mail"), {"p-email": "x@y.z", "p-rules-allowlist": ""}, **HTMX
    )
    editor_client.post(
        url("editor_save", flow, "check"), {"p-reference": "r2", "p-code": "123456"}, **HTMX
    )
    flow.refresh_from_db()
    mail, check = flow.draft["actions"]
    assert mail["params"] == {"email": "x@y.z", "rules": rules}
    assert check["params"] == {"reference": "r2", "code": 123456}  # still a JSON number
    editor_client.post(
        url("editor_save", flow, "check"), {"p-reference": "r2", "p-code": "{{ fields.code }}"}
    )
    assert last_step(flow)["params"]["code"] == "{{ fields.code }}"


def test_the_twiml_preview_escapes_inserted_values(editor_client, flow):
    conn = connection(
        "twilio",
        "Marketing",
        {"account_sid": "AC" + "0" * 32, "auth_token": "t" * 32, "from_number": "+15550000"},
    )
    step = add(editor_client, flow, "TWILIO/MAKE_CALL")
    html = editor_client.post(
        url("editor_preview", flow, step["id"]),
        {
            "p-connection_id": str(conn.pk),
            "p-payload": "<Response><Say>{{ fields.name }}</Say></Response>",
        },
        **HTMX,
    ).content.decode()
    # The preview shows the TwiML as text (escaped again for the page).
    assert "&lt;Say&gt;Ann &amp;amp; &amp;lt;Bob&amp;gt;&lt;/Say&gt;" in html


def test_a_twilio_sms_preview_counts_segments(editor_client, flow):
    step = add(editor_client, flow, "TWILIO/SEND_SMS")
    html = editor_client.post(
        url("editor_preview", flow, step["id"]), {"p-message": "x" * 161}, **HTMX
    ).content.decode()
    assert "161 characters · 2 segments (GSM-7)" in html


def test_bad_inputs_show_on_their_fields(editor_client, flow):
    step = add(editor_client, flow, "JWT/SIGN_JWT")
    html = editor_client.post(
        url("editor_save", flow, step["id"]),
        {"p-payload": "[1, 2]", "p-expires_in": "soon"},
        **HTMX,
    ).content.decode()
    assert "Must be a JSON object of claims." in html
    assert "Expires in &#x27;soon&#x27; is not a duration" in html
