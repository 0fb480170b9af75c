"""In a real browser: pin a step's output and test-run the flow; test one step; make a step
fail, fix it and retry from the failed step. Bad input (JSON that does not parse, a retry of
a run that succeeded) gets a clear error and changes nothing.

Celery is eager in tests, so the live server executes a run inside the request that starts
it.
"""

import json

import pytest
from playwright.sync_api import expect

from flows_app.engine import execute
from flows_app.models import Run, StepRun
from flows_app.pins import pins_of
from flows_app.services import create_flow, create_run, publish_flow
from tests.browser import ARTIFACTS, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.flow_helpers import auth0_connection, email_provider, step
from tests.pin_helpers import PINNED_USER, signup_flow
from tests.test_logic import logic

pytestmark = pytest.mark.browser
WIDTHS = [1280, 390]
USER = {"user_id": "auth0|42", "email": "ada@example.com", "given_name": "Ada"}


@pytest.fixture(autouse=True)
def _polling(settings):
    """The live server speaks HTTP only, so pages take the polling path, not websockets."""
    settings.CHANNEL_LAYER_URL = ""


def shoot(page, name, part):
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(part).screenshot(path=ARTIFACTS / f"{name}.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_editor_pins_a_step_and_test_runs_the_flow(
    page_factory, editor_user, auth0_standin, width
):
    flow = signup_flow(editor_user, auth0_standin)  # the tenant lacks the user: get_user fails
    page = page_factory(width=width)
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/?step=get_user")
    box = page.get_by_label("Output to pin (JSON)")
    check = page.locator("#pin-check")

    box.fill('{"email": "pinned@example.com", ')
    expect(check).to_contain_text("This is not valid JSON")
    page.get_by_role("button", name="Pin this output").click()
    expect(page.locator("#pin-error")).to_contain_text("This is not valid JSON")
    expect(page.get_by_label("Output to pin (JSON)")).to_have_value(
        '{"email": "pinned@example.com", '
    )
    expect(page.locator("#card-get_user .pill-pinned")).to_have_count(0)
    flow.refresh_from_db()
    assert pins_of(flow.draft) == {}
    shoot(page, f"pins-refused-{width}", "#pin-panel")

    page.get_by_label("Output to pin (JSON)").fill(json.dumps(PINNED_USER))
    expect(check).to_have_text("Valid JSON: ready to pin.")
    page.get_by_role("button", name="Pin this output").click()
    expect(page.locator("#pin-panel")).to_contain_text("Pinned. Test runs skip this step")
    expect(page.locator("#card-get_user .pill-pinned")).to_have_text("Pinned")
    shoot(page, f"pins-pinned-{width}", "#inspector")

    page.get_by_role("button", name="Run test").click()
    results = page.locator("#test-run")
    expect(results.locator(".run-status-line")).to_contain_text("Succeeded")
    expect(results.locator(f"#step-{Run.objects.get().pk}-get_user .status")).to_have_text("Pinned")
    assert auth0_standin.requests == []
    screenshot(page, f"pins-test-run-{width}")

    page.goto(f"/flows/{flow.pk}/edit/?step=answer")
    expect(page.locator("#preview-payload")).to_contain_text("pinned@example.com")
    page.get_by_role("button", name="Test this step").click()
    tested = page.locator("#step-test")
    expect(tested.locator(".run-status-line")).to_contain_text("Succeeded")
    expect(tested.locator(".step-output pre")).to_contain_text('"tier": "gold"')
    shoot(page, f"pins-step-test-{width}", "#step-test")


@pytest.fixture
def welcome(db, editor_user, auth0_standin, smtp_standin):
    """Send a notice, look the user up (the tenant lacks it), answer; published, and run
    once: it failed at the lookup after the notice went out."""
    tenant = auth0_connection(auth0_standin)
    email_provider(smtp_standin)
    notice = step(
        "notice", "SEND_EMAIL", to="ops@example.com", subject="Sign-up", body="<p>New</p>"
    )
    lookup = step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|42")
    answer = logic("answer", "RETURN_JSON", payload={"name": "{{ actions.get_user.given_name }}"})
    flow = create_flow(
        name="Welcome",
        owner=editor_user,
        definition={"schema_version": 1, "actions": [notice, lookup, answer]},
    )
    publish_flow(flow, user=editor_user)
    run = execute(create_run(flow, trigger=Run.Trigger.MANUAL, user=editor_user))
    assert run.status == Run.Status.FAILED
    return run


@pytest.mark.parametrize("width", WIDTHS)
def test_an_editor_fixes_a_failed_step_and_retries_from_it(
    page_factory, editor_user, welcome, auth0_standin, smtp_standin, width
):
    page = page_factory(width=width)
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/runs/{welcome.pk}/")
    expect(page.locator(f"#step-{welcome.pk}-get_user .status")).to_have_text("Failed")
    auth0_standin.users[USER["user_id"]] = USER  # the fix: the tenant has the user now
    page.get_by_role("button", name="Retry from the failed step").click()

    retry = Run.objects.get(retry_of=welcome)
    expect(page).to_have_url(f"/runs/{retry.pk}/")
    expect(page.locator(".run-summary .status")).to_have_text("Succeeded")
    expect(page.get_by_text(f"Retry of run #{welcome.pk}")).to_be_visible()
    expect(page.locator(f"#step-{retry.pk}-notice .pill-reused")).to_have_text("Reused")
    expect(page.locator(f"#step-{retry.pk}-get_user .status")).to_have_text("Succeeded")
    expect(page.locator(f"#output-{retry.pk}-answer pre")).to_contain_text('"name": "Ada"')
    assert len(smtp_standin.messages) == 1  # the notice went out once, in the first run
    expect(page.get_by_role("button", name="Retry from the failed step")).to_have_count(0)
    screenshot(page, f"retry-succeeded-{width}")

    # A retry of a run that succeeded (a form sent again) is refused with why.
    page.evaluate(
        """(url) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = url;
            const token = document.querySelector("input[name=csrfmiddlewaretoken]");
            form.appendChild(token.cloneNode());
            document.body.appendChild(form);
            form.submit();
        }""",
        f"/runs/{retry.pk}/retry/",
    )
    expect(page.locator(".messages")).to_contain_text(
        f"Run #{retry.pk} did not fail (it succeeded): only a failed run can be retried."
    )
    expect(page).to_have_url(f"/runs/{retry.pk}/")
    assert Run.objects.filter(retry_of__isnull=False).count() == 1
    screenshot(page, f"retry-refused-{width}")

    page.goto("/runs/")
    expect(page.locator(f"#run-row-{retry.pk}")).to_contain_text(f"retry of #{welcome.pk}")
    page.goto(f"/runs/{welcome.pk}/")
    expect(page.get_by_text(f"Retried as run #{retry.pk}")).to_be_visible()
    assert StepRun.objects.filter(run=retry, reused=True).count() == 1
    screenshot(page, f"retry-original-{width}")


def test_the_version_history_shows_the_pins_a_version_was_published_with(
    page_factory, editor_user, auth0_standin
):
    flow = signup_flow(editor_user, auth0_standin)
    page = page_factory(width=390)
    sign_in(page, editor_user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/?step=check")
    page.get_by_label("Output to pin (JSON)").fill('{"result": false}')
    page.get_by_role("button", name="Pin this output").click()
    expect(page.locator("#card-check .pill-pinned")).to_have_text("Pinned")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#publish")).to_contain_text("Published version 1.")
    page.get_by_role("link", name="v1").click()
    pins = page.get_by_role("region", name="Pinned outputs")
    expect(pins).to_contain_text('"result": false')
    expect(page.locator("#card-check .pill-pinned")).to_have_text("Pinned")
    screenshot(page, "pins-version-390")
