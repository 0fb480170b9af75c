"""Previews read the shared variables as the latest test run had them before the step:
along the path the run took, the test data's when the run set none, masked when masked."""

import pytest
from django.urls import reverse

from flows_app.engine import execute
from flows_app.models import Run
from flows_app.services import create_flow, create_run, save_draft
from tests.flow_helpers import auth0_connection, step
from tests.test_logic import failing, logic

HTMX = {"HTTP_HX_REQUEST": "true"}
EMAIL = {
    "to": "{{ context.user.email }}",
    "subject": "Your plan: {{ vars.plan }}",
    "body": "<p>Hello</p>",
}


def store(step_id: str, **values) -> dict:
    return logic(step_id, "STORE_VARS", vars=values)


def leaf(operator: str, *operands) -> dict:
    return {"operator": operator, "operands": list(operands)}


def condition(step_id: str, when: dict, then=(), otherwise=()) -> dict:
    return logic(
        step_id, "BOOLEAN_CONDITION", **{"if": when, "then": [*then], "else": [*otherwise]}
    )


def run_test_data(flow) -> Run:
    """Run the draft with the test data, as the editor's Run test does, to its end."""
    return execute(create_run(flow, trigger=Run.Trigger.TEST, draft=True))


def preview(client, flow, step_id: str, **typed) -> str:
    form = {f"p-{name}": value for name, value in typed.items()}
    url = reverse("editor_preview", args=[flow.pk, step_id])
    return client.post(url, form, **HTMX).content.decode()


def inspector(client, flow, step_id: str) -> str:
    url = reverse("flow_editor", args=[flow.pk])
    return client.get(f"{url}?step={step_id}").content.decode()


@pytest.fixture
def welcome(db, admin_user):
    """Store plan = "pro", then send an email that says the plan."""
    return create_flow(
        name="Welcome",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [store("set_plan", plan="pro"), step("welcome", "SEND_EMAIL", **EMAIL)],
        },
        test_data={"context": {"user": {"email": "ada@example.com"}}},
    )


def test_a_variable_the_test_run_stored_before_the_step_is_previewed(editor_client, welcome):
    run = run_test_data(welcome)
    assert run.steps.get(step_id="set_plan").vars == {"plan": "pro"}
    html = preview(editor_client, welcome, "welcome", subject="Your plan: {{ vars.plan }}")
    assert "Your plan: pro" in html
    assert "vars.plan is undefined" not in html
    page = inspector(editor_client, welcome, "welcome")
    assert "Your plan: pro" in page and "vars.plan is undefined" not in page


def test_before_any_test_run_previews_read_the_test_data_vars(editor_client, welcome):
    html = preview(editor_client, welcome, "welcome", subject="Your plan: {{ vars.plan }}")
    assert "Your plan: </pre>" in html
    assert "vars.plan is undefined: step set_plan stores it: run a test to preview it" in html
    welcome.test_data = {"vars": {"plan": "trial"}}
    welcome.save()
    assert "Your plan: trial" in preview(
        editor_client, welcome, "welcome", subject="Your plan: {{ vars.plan }}"
    )


def test_a_step_newer_than_the_test_run_keeps_what_the_run_recorded(editor_client, welcome):
    run_test_data(welcome)
    draft = welcome.draft
    draft["actions"].insert(1, store("set_coupon", coupon="WELCOME10"))
    save_draft(welcome, draft)
    html = preview(editor_client, welcome, "welcome", subject="{{ vars.plan }} / {{ vars.coupon }}")
    assert "pro / </pre>" in html
    assert (
        "vars.coupon is undefined: step set_coupon stores it, but the last test run did not "
        "run that step: run a test to preview it"
    ) in html
    assert "WELCOME10" not in html  # the draft's value is not guessed: the run did not store it
    output = preview(editor_client, welcome, "welcome", subject="{{ actions.set_coupon.coupon }}")
    assert (
        "actions.set_coupon.coupon is undefined: the last test run has no output of step "
        "set_coupon: run a test to preview it"
    ) in output


@pytest.fixture
def by_plan(db, admin_user):
    """check (plan is pro? then: set_pro, in_then; else: set_free), after."""
    is_pro = leaf("EQUALS", "{{ context.user.plan }}", "pro")
    return create_flow(
        name="By plan",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                store("set_source", source="flow"),
                condition(
                    "check",
                    is_pro,
                    then=[
                        store("set_pro", plan="pro"),
                        logic("in_then", "RETURN_JSON", payload={"p": "{{ vars.plan }}"}),
                    ],
                    otherwise=[store("set_free", plan="free")],
                ),
                logic("after", "RETURN_JSON", payload={"p": "{{ vars.plan }}"}),
            ],
        },
        test_data={"context": {"user": {"plan": "free"}}, "vars": {"source": "test data"}},
    )


def test_after_an_if_then_the_variables_come_from_the_branch_the_run_took(editor_client, by_plan):
    assert run_test_data(by_plan).status == Run.Status.SUCCEEDED
    html = preview(editor_client, by_plan, "after", payload='{"p": "{{ vars.plan }}"}')
    assert "&quot;p&quot;: &quot;free&quot;" in html
    both = preview(editor_client, by_plan, "after", payload='{"s": "{{ vars.source }}"}')
    assert "&quot;s&quot;: &quot;flow&quot;" in both  # the run's value, not the test data's


def test_in_a_branch_the_run_skipped_only_the_steps_before_it_count(editor_client, by_plan):
    run_test_data(by_plan)
    html = preview(
        editor_client,
        by_plan,
        "in_then",
        payload='{"p": "{{ vars.plan }}", "s": "{{ vars.source }}"}',
    )
    assert "&quot;s&quot;: &quot;flow&quot;" in html  # set_source ran before the If/then
    assert "free" not in html  # set_free is in the other branch
    assert (
        "vars.plan is undefined: step set_pro stores it, but the last test run skipped it" in html
    )


@pytest.fixture
def masked(db, admin_user, auth0_standin):
    """A masked Get user, a masked Store shared variables, then a step that reads both."""
    auth0_standin.users["auth0|42"] = {
        "user_id": "auth0|42",
        "email": "grace@example.com",
        "app_metadata": {"plan": "pro", "recovery_code": "RC-7f3a9d"},
    }
    tenant = auth0_connection(auth0_standin)
    lookup = step("lookup", "GET_USER", connection_id=tenant.pk, user_id="auth0|42")
    code = store("keep_code", code="{{ actions.lookup.app_metadata.recovery_code }}")
    flow = create_flow(
        name="Masked",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                {**lookup, "mask_output": True},
                {**code, "mask_output": True},
                logic("use", "RETURN_JSON", payload={"ok": True}),
            ],
        },
    )
    assert run_test_data(flow).status == Run.Status.SUCCEEDED
    return flow


def test_masked_values_stay_masked_in_previews_and_the_picker(editor_client, masked):
    typed = '{"code": "{{ vars.code }}", "email": "{{ actions.lookup.email }}"}'
    html = preview(editor_client, masked, "use", payload=typed)
    assert "&quot;code&quot;: &quot;[redacted]&quot;" in html
    assert "&quot;email&quot;: &quot;[redacted]&quot;" in html
    assert "is undefined" not in html  # the fields are there, their values masked
    page = inspector(editor_client, masked, "use")
    assert 'data-insert="actions.lookup.app_metadata.recovery_code"' in page
    assert "masked: field names from the latest test run" in page
    assert 'data-insert="vars.code"' in page
    for text in (html, page):
        assert "RC-7f3a9d" not in text and "grace@example.com" not in text


def test_reading_a_step_the_run_has_no_output_of_says_why(editor_client, welcome):
    typed = "{{ actions.set_plan.plan }}"
    before = preview(editor_client, welcome, "welcome", subject=typed)
    assert (
        "actions.set_plan.plan is undefined: no test run yet: run a test to preview step set_plan"
    ) in before
    flow = create_flow(
        name="Broken",
        definition={
            "schema_version": 1,
            "actions": [failing("broken"), logic("after", "RETURN_JSON", payload={"ok": True})],
        },
    )
    assert run_test_data(flow).status == Run.Status.FAILED
    html = preview(editor_client, flow, "after", payload='{"x": "{{ actions.broken.x }}"}')
    assert "actions.broken.x is undefined: step broken did not succeed in the last test run" in html
