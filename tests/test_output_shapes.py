"""Every action declares the shape of its output once; the variable picker lists it, or the
fields of the output in the latest test run, a few levels deep and never a value."""

import pytest
from django.urls import reverse

from flows_app.actions import ACTION_TYPES
from flows_app.engine import execute
from flows_app.models import Run, StepRun
from flows_app.services import create_flow, create_run
from flows_app.templating import check_template, referenced_variables
from flows_app.views.variables import GROUP_LIMIT, picker_groups, variables
from tests.flow_helpers import auth0_connection, step
from tests.standins.auth0 import new_user
from tests.test_logic import logic

NO_OUTPUT = {"FLOW/DELAY_FLOW", "FLOW/DO_NOTHING", "FLOW/ERROR_MESSAGE"}


def described(flow, step_id) -> dict[str, str]:
    return {v.path: v.description for v in variables(flow, step_id)}


def inspector(client, flow, step_id: str) -> str:
    url = reverse("flow_editor", args=[flow.pk])
    return client.get(f"{url}?step={step_id}").content.decode()


@pytest.mark.parametrize("key", sorted(set(ACTION_TYPES) - NO_OUTPUT))
def test_every_action_with_an_output_documents_its_fields(key):
    action = ACTION_TYPES[key]
    params = {"vars": {"plan": "x"}, "payload": {"ok": True}}  # for outputs named by params
    fields = action.documented_output(params)
    assert fields, f"{key} documents no output field"
    for field in fields:
        assert field.description.strip()
        # A path a template reads below the step's output, as written.
        template = f"{{{{ actions.s.{field.path} }}}}"
        assert check_template(template) == []
        dotted = field.path.replace("[0]", ".0")
        assert referenced_variables(template) == {f"actions.s.{dotted}"}


@pytest.fixture
def lookup(db, admin_user, auth0_standin):
    """get_user (a real user at the Auth0 stand-in), call_api, then welcome."""
    user = new_user({"user_id": "42", "email": "ada@example.com", "connection": "DB"}, "auth0")
    auth0_standin.users[user["user_id"]] = {**user, "app_metadata": {"plan": "pro"}}
    tenant = auth0_connection(auth0_standin)
    get_user = step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|42")
    call_api = step(
        "call_api", "SEND_REQUEST", connection_id=tenant.pk, method="GET", pathname="/api/v2/users"
    )
    welcome = step(
        "welcome", "SEND_EMAIL", to="{{ actions.get_user.email }}", subject="Hi", body="Hi"
    )
    return create_flow(
        name="Lookup",
        owner=admin_user,
        definition={"schema_version": 1, "actions": [get_user, call_api, welcome]},
    )


def test_without_a_test_run_the_picker_lists_the_documented_output(editor_client, lookup):
    found = described(lookup, "welcome")
    assert found["actions.get_user.email"] == "The user's email address."
    assert "actions.get_user.app_metadata" in found
    assert "actions.get_user.identities[0].provider" in found
    assert set(found) >= {"actions.call_api.status", "actions.call_api.body"}
    html = inspector(editor_client, lookup, "welcome")
    assert 'data-insert="actions.get_user.email" title="The user&#x27;s email address."' in html
    assert "documented fields (no output in the latest test run)" in html


def test_after_a_test_run_the_picker_lists_the_real_fields_nested(editor_client, lookup):
    run = execute(create_run(lookup, trigger=Run.Trigger.TEST, draft=True))
    assert run.steps.get(step_id="get_user").status == StepRun.Status.SUCCEEDED
    found = described(lookup, "welcome")
    assert "actions.get_user.app_metadata.plan" in found
    assert "actions.get_user.identities[0].connection" in found
    assert found["actions.get_user.email"] == "The user's email address."  # still described
    assert "actions.get_user.phone_number" not in found  # documented, but not this user's
    html = inspector(editor_client, lookup, "welcome")
    assert 'data-insert="actions.get_user.app_metadata.plan"' in html
    assert "fields from the latest test run" in html


def test_a_long_output_is_capped_with_a_note(editor_client, db, admin_user):
    flow = create_flow(
        name="Wide",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                logic("wide", "RETURN_JSON", payload={"ok": True}),
                logic("next", "RETURN_JSON", payload={"ok": True}),
            ],
        },
    )
    run = Run.objects.create(flow=flow, definition=flow.draft, trigger=Run.Trigger.TEST)
    wide = {f"key_{n:03}": {"deep": {"deeper": {"deepest": n}}} for n in range(60)}
    StepRun.objects.create(
        run=run,
        step_id="wide",
        action_type="FLOW/RETURN_JSON",
        position=0,
        status=StepRun.Status.SUCCEEDED,
        output=wide,
    )
    group = next(g for g in picker_groups(flow, "next") if g.heading.startswith("actions.wide"))
    assert len(group.variables) == GROUP_LIMIT
    assert group.more == 1 + 60 * 3 - GROUP_LIMIT  # the output itself, then three levels each
    assert group.variables[3].path == "actions.wide.key_000.deep.deeper"  # not .deepest
    html = inspector(editor_client, flow, "next")
    assert f"{group.more} more not listed: type the rest of the path." in html


def test_a_step_that_may_fail_offers_its_error(db, admin_user):
    flow = create_flow(
        name="May fail",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                {**logic("risky", "MAP_VALUE", input="x"), "allow_failure": True},
                logic("next", "DO_NOTHING"),
            ],
        },
    )
    found = described(flow, "next")
    assert "actions.risky.result" in found
    assert found["actions.risky.error.message"] == "Why the step failed, when it failed."


def test_store_shared_variables_names_its_variables(db, admin_user):
    flow = create_flow(
        name="Vars",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                logic("set_plan", "STORE_VARS", vars={"plan": "pro", "seats": "3"}),
                logic("next", "DO_NOTHING"),
            ],
        },
        test_data={"vars": {"source": "signup"}},
    )
    notes = {v.path: v.note for v in variables(flow, "next")}
    assert notes["vars.source"] == ""
    assert notes["vars.plan"] == notes["vars.seats"] == "set by set_plan"
    assert "actions.set_plan.plan" in notes
