"""Test one step: it runs alone, for real, on the test data and what the latest test run and
the pins know of the steps before it; the inspector shows its rendered inputs and output."""

import html

import pytest
from django.urls import reverse

from flows_app.latest_run import latest_test_run
from flows_app.models import Run, StepRun
from flows_app.pins import pins_of
from flows_app.services import edit_draft
from flows_app.step_tests import CannotTest, start_step_test
from tests.pin_helpers import PINNED_USER, pin, run_test, signup_flow
from tests.test_logic import logic

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def signup(db, admin_user, auth0_standin):
    return signup_flow(admin_user, auth0_standin)


REAL_USER = {"user_id": "auth0|42", "email": "real@example.com", "app_metadata": {"plan": "free"}}


@pytest.fixture
def step_test(django_capture_on_commit_callbacks, admin_user):
    """Start a test of one step and let the worker (in this process) run it."""

    def start(flow, step_id: str) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            run = start_step_test(flow, step_id, user=admin_user)
        run.refresh_from_db()
        return run

    return start


def only_record(run: Run) -> StepRun:
    [record] = run.steps.all()
    return record


@pytest.fixture
def tested(signup, auth0_standin):
    """The signup flow after a test run in which the tenant had the user (plan free)."""
    auth0_standin.users["auth0|42"] = REAL_USER
    assert run_test(signup).status == Run.Status.SUCCEEDED
    auth0_standin.clear_log()
    return signup


def test_a_step_runs_alone_on_the_latest_test_runs_outputs(tested, auth0_standin, step_test):
    latest = latest_test_run(tested)
    run = step_test(tested, "answer")
    assert run.trigger == Run.Trigger.STEP and run.status == Run.Status.SUCCEEDED
    record = only_record(run)
    assert record.step_id == "answer"
    assert record.inputs == {"payload": {"email": "real@example.com", "tier": "basic"}}
    assert record.output == {"email": "real@example.com", "tier": "basic"}
    assert auth0_standin.requests == []  # get_user was not run again
    assert latest_test_run(tested) == latest  # previews still read the whole test run


def test_pins_of_earlier_steps_win(tested, step_test):
    pin(tested, "get_user", PINNED_USER)
    pin(tested, "basic", {"tier": "pinned"})
    run = step_test(tested, "answer")
    assert only_record(run).output == {"email": "pinned@example.com", "tier": "pinned"}


def test_a_pinned_step_tested_alone_really_runs(tested, auth0_standin, step_test):
    pin(tested, "get_user", PINNED_USER)
    run = step_test(tested, "get_user")
    record = only_record(run)
    assert record.status == StepRun.Status.SUCCEEDED
    assert record.output["email"] == "real@example.com"
    assert auth0_standin.requests_to("/api/v2/users/{id}", "GET")


def test_an_if_then_tested_alone_only_picks_its_branch(tested, step_test):
    run = step_test(tested, "check")
    record = only_record(run)  # neither branch's steps ran
    assert record.detail["branch"] == "else"
    assert record.output == {"result": False}


def test_a_masked_earlier_output_is_read_as_it_is(tested, step_test):
    lookup, *rest = tested.draft["actions"]
    edit_draft(tested, {**tested.draft, "actions": [{**lookup, "mask_output": True}, *rest]})
    run_test(tested)
    run = step_test(tested, "answer")
    assert only_record(run).output["email"] == "real@example.com"
    assert "real@example.com" not in run.definition["given"]  # sealed in the record


def test_steps_that_cannot_run_alone_are_refused(signup, admin_user):
    wait = logic("wait", "DELAY_FLOW", number=5, units="SECONDS")
    broken = logic("broken", "RETURN_JSON", payload={"x": "{{ actions.later.x }}"})
    edit_draft(signup, {**signup.draft, "actions": [*signup.draft["actions"], wait, broken]})
    signup.refresh_from_db()
    with pytest.raises(CannotTest, match="A Delay only waits"):
        start_step_test(signup, "wait", user=admin_user)
    with pytest.raises(CannotTest, match="There is no step 'nope'"):
        start_step_test(signup, "nope", user=admin_user)
    from flows_app.services import InvalidFlow

    with pytest.raises(InvalidFlow, match="refers to a step that does not run before this one"):
        start_step_test(signup, "broken", user=admin_user)
    assert not Run.objects.filter(trigger=Run.Trigger.STEP).exists()


def test_the_inspector_shows_the_rendered_inputs_and_output_and_can_pin_it(
    editor_client, tested, django_capture_on_commit_callbacks
):
    secret = {"email": "{{ actions.get_user.email }}", "password": "hunter2-secret"}
    edit_draft(
        tested,
        {
            **tested.draft,
            "actions": [
                *tested.draft["actions"][:2],
                logic("answer", "RETURN_JSON", payload=secret),
            ],
        },
    )
    url = reverse("editor_step_test", args=[tested.pk, "answer"])
    with django_capture_on_commit_callbacks(execute=True):
        started = editor_client.post(url, **HTMX).content.decode()
    run = Run.objects.get(trigger=Run.Trigger.STEP)
    assert f"Run #{run.pk}" in started and "Queued" in started
    assert "every 1s" in started  # it follows the run until it ends
    result = reverse("editor_step_test_run", args=[tested.pk, "answer", run.pk])
    page = html.unescape(editor_client.get(result, **HTMX).content.decode())
    assert "Succeeded" in page
    assert '"email": "real@example.com"' in page  # the rendered input and the output
    assert "hunter2-secret" not in page and "[redacted]" in page
    assert "hx-trigger" not in page.split('id="step-test"')[1].split(">")[0]  # final: no polling
    assert "Pin this output" in page
    pin_url = reverse("editor_pin", args=[tested.pk, "answer"])
    editor_client.post(pin_url, {"from_run": run.pk}, **HTMX)
    tested.refresh_from_db()
    assert pins_of(tested.draft)["answer"] == {
        "email": "real@example.com",
        "password": "[redacted]",
    }


def test_a_refused_test_says_why_in_the_inspector(editor_client, signup):
    wait = logic("wait", "DELAY_FLOW", number=5, units="SECONDS")
    edit_draft(signup, {**signup.draft, "actions": [*signup.draft["actions"], wait]})
    url = reverse("editor_step_test", args=[signup.pk, "wait"])
    page = editor_client.post(url, **HTMX).content.decode()
    assert "A Delay only waits: test it within the flow with Run test." in page
    assert not Run.objects.filter(trigger=Run.Trigger.STEP).exists()


def test_tests_of_one_step_are_in_run_history(admin_client, tested, admin_user):
    run = start_step_test(tested, "answer", user=admin_user)
    listing = admin_client.get(reverse("run_list") + "?trigger=step").content.decode()
    assert f"#{run.pk}" in listing and "Test of one step" in listing
    page = admin_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert "Test of one step" in page
    assert "Run again with this input" not in page  # it ran one step, not the flow
