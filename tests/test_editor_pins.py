"""The inspector's pin panel: pin typed JSON or a test run's output, check it as it is typed,
unpin; a refused pin changes nothing and keeps what was typed."""

import html
import json

import pytest
from django.urls import reverse

from flows_app.models import Run
from flows_app.pins import pins_of
from flows_app.services import create_flow, edit_draft
from tests.pin_helpers import PINNED_USER, run_test, signup_flow

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def signup(db, admin_user, auth0_standin):
    return signup_flow(admin_user, auth0_standin)


def post(client, name, flow, step_id, data=None, **headers):
    return client.post(reverse(name, args=[flow.pk, step_id]), data or {}, **headers)


def draft_pins(flow) -> dict:
    flow.refresh_from_db()
    return pins_of(flow.draft)


def test_pinning_typed_json_marks_the_step_and_keeps_the_inspector(editor_client, signup):
    typed = json.dumps(PINNED_USER)
    response = post(editor_client, "editor_pin", signup, "get_user", {"output": typed}, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert draft_pins(signup) == {"get_user": PINNED_USER}
    assert (
        '<section id="pin-panel" class="step-tool" aria-labelledby="pin-heading" hx-swap-oob'
        in page
    )
    assert "Pinned. Test runs skip this step" in page
    assert 'id="canvas"' in page and 'class="pill pill-pinned"' in page
    assert 'id="inspector"' not in page  # the settings being typed are left alone
    assert "Unpin" in page


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ('{"email": "ada@', "This is not valid JSON: Unterminated string"),
        ("", "Type the output as JSON"),
    ],
)
def test_a_refused_pin_changes_nothing_and_keeps_what_was_typed(
    editor_client, signup, typed, error
):
    response = post(editor_client, "editor_pin", signup, "get_user", {"output": typed}, **HTMX)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert error in page
    assert f">{typed}</textarea>" in page
    assert draft_pins(signup) == {}
    assert 'class="pill pill-pinned"' not in page


def test_without_javascript_a_refused_pin_shows_the_page_with_what_was_typed(editor_client, signup):
    typed = '{"result": "maybe"}'
    response = post(editor_client, "editor_pin", signup, "check", {"output": typed})
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "An If/then's output is" in page
    assert f">{typed}</textarea>" in page and "<h1>Edit Signup</h1>" in page
    assert draft_pins(signup) == {}


def test_the_box_is_checked_as_it_is_typed(editor_client, signup):
    good = post(editor_client, "editor_pin_check", signup, "check", {"output": '{"result": true}'})
    assert "Valid JSON: ready to pin." in good.content.decode()
    bad = post(editor_client, "editor_pin_check", signup, "check", {"output": '{"result": 1}'})
    text = html.unescape(bad.content.decode())
    assert 'class="pin-check is-bad"' in text and "An If/then's output is" in text
    broken = post(editor_client, "editor_pin_check", signup, "check", {"output": "[1,"})
    assert "(line 1, column 4)" in broken.content.decode()
    assert draft_pins(signup) == {}


def test_pinning_the_latest_test_runs_output(editor_client, signup, auth0_standin):
    user = {"user_id": "auth0|42", "email": "real@example.com", "app_metadata": {"plan": "pro"}}
    auth0_standin.users["auth0|42"] = user
    run = run_test(signup)
    url = reverse("flow_editor", args=[signup.pk])
    inspector = editor_client.get(f"{url}?step=get_user").content.decode()
    assert f"Pin its output from test run #{run.pk}" in inspector
    post(editor_client, "editor_pin", signup, "get_user", {"from_run": run.pk}, **HTMX)
    pinned = draft_pins(signup)["get_user"]
    assert pinned["email"] == "real@example.com" and pinned["app_metadata"] == {"plan": "pro"}


def test_a_masked_or_foreign_output_is_not_pinned(editor_client, signup, admin_user):
    masked = {**signup.draft["actions"][2], "mask_output": True}
    edit_draft(signup, {**signup.draft, "actions": [*signup.draft["actions"][:2], masked]})
    run = run_test(signup)  # get_user fails (no such user); answer is never reached
    assert run.status == Run.Status.FAILED
    refused = post(editor_client, "editor_pin", signup, "get_user", {"from_run": run.pk}, **HTMX)
    assert "has no output of get_user to pin (the step failed)" in refused.content.decode()
    other = create_flow(name="Other", owner=admin_user, definition=signup.draft)
    foreign = run_test(other)
    response = post(
        editor_client, "editor_pin", signup, "get_user", {"from_run": foreign.pk}, **HTMX
    )
    assert "There is no such test run of this flow" in response.content.decode()
    too_big = post(editor_client, "editor_pin", signup, "get_user", {"from_run": "9" * 40}, **HTMX)
    assert "There is no such test run of this flow" in too_big.content.decode()
    assert draft_pins(signup) == {}


def test_unpinning(editor_client, signup):
    post(editor_client, "editor_pin", signup, "answer", {"output": "{}"}, **HTMX)
    assert draft_pins(signup) == {"answer": {}}
    response = post(editor_client, "editor_unpin", signup, "answer", **HTMX)
    assert "Unpinned: test runs run this step again." in response.content.decode()
    assert draft_pins(signup) == {}
    assert "pins" not in signup.draft


def test_viewers_see_pins_but_cannot_change_them(viewer_client, editor_client, signup):
    post(editor_client, "editor_pin", signup, "answer", {"output": '{"ok": true}'}, **HTMX)
    url = reverse("flow_editor", args=[signup.pk])
    page = viewer_client.get(f"{url}?step=answer").content.decode()
    assert 'aria-label="Pinned output"' in page and "Unpin" not in page
    for name in ("editor_pin", "editor_unpin", "editor_pin_check", "editor_step_test"):
        response = post(viewer_client, name, signup, "answer", {"output": "{}"}, **HTMX)
        assert response.status_code == 403
    assert draft_pins(signup) == {"answer": {"ok": True}}


def test_pins_are_csrf_protected(csrf_admin_client, signup):
    response = post(csrf_admin_client, "editor_pin", signup, "answer", {"output": "{}"}, **HTMX)
    assert response.status_code == 403
    assert draft_pins(signup) == {}
