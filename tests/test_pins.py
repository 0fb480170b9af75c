"""Pinned step outputs: test runs take them instead of running the step, published runs never
do; they are checked when set, follow renames, feed previews and travel in Sluice's export."""

import json

import pytest
from django.urls import reverse

from flows_app import pins
from flows_app.engine import execute
from flows_app.interop import AUTH0, SLUICE, ImportFailed, dump, export_document, import_documents
from flows_app.models import Flow, Run, StepRun
from flows_app.redaction import MASK
from flows_app.services import create_run, edit_draft, publish_flow
from tests.pin_helpers import PINNED_USER, pin, records, run_test, signup_flow

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def signup(db, admin_user, auth0_standin):
    return signup_flow(admin_user, auth0_standin)


# Test runs and published runs


def test_a_test_run_takes_a_pinned_output_instead_of_running_the_step(signup, auth0_standin):
    run = run_test(pin(signup, "get_user", PINNED_USER))
    assert run.status == Run.Status.SUCCEEDED, run.error
    steps = records(run)
    assert steps["get_user"].status == StepRun.Status.PINNED
    assert steps["get_user"].output == PINNED_USER
    assert auth0_standin.requests == []  # not even a token was asked for
    assert steps["check"].detail["branch"] == "then"
    assert steps["basic"].status == StepRun.Status.SKIPPED
    assert run.result == {"email": "pinned@example.com", "tier": "gold"}


def test_published_runs_never_use_pins(signup, auth0_standin):
    pin(signup, "get_user", PINNED_USER)
    version = publish_flow(signup)
    assert pins.pins_of(version.definition) == {"get_user": PINNED_USER}  # kept with it
    run = execute(create_run(signup, trigger=Run.Trigger.MANUAL, input=signup.test_data))
    assert run.status == Run.Status.FAILED
    assert records(run)["get_user"].status == StepRun.Status.FAILED
    assert auth0_standin.requests_to("/api/v2/users/{id}", "GET")


def test_pinned_logic_steps_change_the_run_as_their_output_says(signup):
    pin(signup, "get_user", PINNED_USER)  # plan "pro": the condition itself would take Then
    pin(signup, "check", {"result": False})
    pin(signup, "basic", {"tier": "pinned-tier", "extra": 3})
    run = run_test(signup)
    steps = records(run)
    assert steps["check"].status == StepRun.Status.PINNED
    assert steps["gold"].status == StepRun.Status.SKIPPED
    assert steps["basic"].status == StepRun.Status.PINNED
    assert steps["basic"].vars == {"tier": "pinned-tier", "extra": 3}
    assert run.result == {"email": "pinned@example.com", "tier": "pinned-tier"}
    pin(signup, "answer", {"answered": "by a pin"})
    assert run_test(signup).result == {"answered": "by a pin"}


def test_a_masked_pinned_step_shows_redacted_and_later_steps_read_it(signup, admin_client):
    masked = signup.draft["actions"][0] | {"mask_output": True}
    edit_draft(signup, {**signup.draft, "actions": [masked, *signup.draft["actions"][1:]]})
    signup.refresh_from_db()
    run = run_test(pin(signup, "get_user", PINNED_USER))
    record = records(run)["get_user"]
    assert record.status == StepRun.Status.PINNED
    assert record.output == MASK and record.sealed_output
    assert "pinned@example.com" not in record.sealed_output
    assert run.result["email"] == "pinned@example.com"
    page = admin_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert "Pinned: this step did not run" in page
    assert "(masked: this step hides its output)" in page
    assert "&quot;app_metadata&quot;" not in page


def test_a_retried_or_resumed_test_run_keeps_its_pinned_steps(signup, auth0_standin):
    run = create_run(pin(signup, "get_user", PINNED_USER), trigger=Run.Trigger.TEST, draft=True)
    execute(run)
    execute(run)  # an interrupted pass would resume: nothing pinned runs twice
    assert run.steps.filter(status=StepRun.Status.PINNED).count() == 1
    assert auth0_standin.requests == []


# Checking pins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type the output as JSON"),
        ('{"email": ', "This is not valid JSON: Expecting value (line 1, column 11)."),
        ('{"n": NaN}', "NaN is not a JSON number"),
        ("[" * 40 + "]" * 40, "nests objects and lists more than 32 deep"),
    ],
)
def test_typed_pins_that_are_not_json_are_refused_with_where(text, message):
    with pytest.raises(pins.PinError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pins.parse_pin(text)


def test_pins_are_checked_against_the_step(signup):
    draft = signup.draft
    with pytest.raises(pins.PinError, match=r'\{"result": true\} or \{"result": false\}'):
        pins.with_pin(draft, "check", {"result": "yes"})
    with pytest.raises(pins.PinError, match="outputs an object"):
        pins.with_pin(draft, "gold", ["gold"])
    with pytest.raises(pins.PinError, match="'1st' is not a variable name"):
        pins.with_pin(draft, "gold", {"1st": True})
    with pytest.raises(pins.PinError, match="There is no step 'nope'"):
        pins.with_pin(draft, "nope", {})
    with pytest.raises(pins.PinError, match="at most 100,000 bytes"):
        pins.with_pin(draft, "get_user", {"blob": "x" * pins.PIN_LIMIT})
    assert pins.pins_of(signup.draft) == {}  # nothing was changed


def test_renaming_a_step_moves_its_pin_and_deleting_it_drops_it(editor_client, signup):
    pin(signup, "get_user", PINNED_USER)
    pin(signup, "answer", {"ok": True})
    rename = reverse("editor_rename", args=[signup.pk, "get_user"])
    editor_client.post(rename, {"new_id": "lookup"}, **HTMX)
    signup.refresh_from_db()
    assert pins.pins_of(signup.draft) == {"lookup": PINNED_USER, "answer": {"ok": True}}
    assert "actions.lookup.email" in json.dumps(signup.draft["actions"])
    editor_client.post(reverse("editor_delete", args=[signup.pk, "answer"]), **HTMX)
    signup.refresh_from_db()
    assert pins.pins_of(signup.draft) == {"lookup": PINNED_USER}
    editor_client.post(reverse("editor_undo", args=[signup.pk]), **HTMX)
    signup.refresh_from_db()
    assert pins.pins_of(signup.draft) == {"lookup": PINNED_USER, "answer": {"ok": True}}


# Previews and the variable picker


def preview(client, flow, step_id: str, **typed) -> str:
    form = {f"p-{name}": value for name, value in typed.items()}
    url = reverse("editor_preview", args=[flow.pk, step_id])
    return client.post(url, form, **HTMX).content.decode()


def test_previews_and_the_picker_read_pins_over_the_latest_test_run(
    editor_client, signup, auth0_standin
):
    auth0_standin.users["auth0|42"] = {
        "user_id": "auth0|42",
        "email": "real@example.com",
        "app_metadata": {"plan": "free"},
    }
    assert run_test(signup).status == Run.Status.SUCCEEDED
    typed = '{"who": "{{ actions.get_user.email }}", "tier": "{{ vars.tier }}"}'
    before = preview(editor_client, signup, "answer", payload=typed)
    assert "real@example.com" in before and "basic" in before
    pin(signup, "get_user", {**PINNED_USER, "logins_count": 7})
    pin(signup, "basic", {"tier": "from-a-pin"})
    after = preview(editor_client, signup, "answer", payload=typed)
    assert "pinned@example.com" in after and "from-a-pin" in after
    assert "real@example.com" not in after
    url = reverse("flow_editor", args=[signup.pk])
    page = editor_client.get(f"{url}?step=answer").content.decode()
    assert 'data-insert="actions.get_user.logins_count"' in page
    assert "fields of its pinned output" in page


def test_pins_feed_previews_before_any_run_test(editor_client, signup):
    pin(signup, "get_user", PINNED_USER)
    html = preview(
        editor_client, signup, "answer", payload='{"who": "{{ actions.get_user.email }}"}'
    )
    assert "pinned@example.com" in html
    assert "no test run yet" not in html


# Export and import


def test_sluice_exports_keep_pins_and_auth0_exports_leave_them_out(signup):
    pin(signup, "get_user", PINNED_USER)
    sluice = export_document(signup, format=SLUICE)
    assert sluice["pins"] == {"get_user": PINNED_USER}
    assert "pins" not in export_document(signup, format=AUTH0)
    report = import_documents([("signup.json", json.loads(dump(sluice)))])
    copy = report.flows[0]
    assert pins.pins_of(copy.draft) == {"get_user": PINNED_USER}
    assert dump(export_document(copy, format=SLUICE)) == dump(sluice)


def test_an_import_whose_pins_do_not_fit_imports_nothing(signup):
    document = export_document(signup, format=SLUICE)
    document["name"] = "Copy"
    document["pins"] = {"gone": {}, "check": {"result": "maybe"}}
    with pytest.raises(ImportFailed) as refused:
        import_documents([("copy.json", document)])
    messages = [str(problem) for problem in refused.value.problems]
    assert "gone: copy.json: pins: there is no step 'gone' to pin." in messages
    assert any(m.startswith("check: copy.json: pins: An If/then's output is") for m in messages)
    assert not Flow.objects.filter(name="Copy").exists()


# The version history


def test_a_version_shows_the_pins_it_was_published_with(editor_client, signup):
    pin(signup, "get_user", PINNED_USER)
    version = publish_flow(signup)
    page = editor_client.get(reverse("flow_version", args=[signup.pk, version.number]))
    html = page.content.decode()
    assert "Pinned outputs" in html
    assert "pinned@example.com" in html
    assert 'class="pill pill-pinned"' in html
