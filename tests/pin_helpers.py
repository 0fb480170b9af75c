"""A flow to pin, test one step of and retry: look a user up, store a tier by plan, answer."""

from flows_app import pins
from flows_app.engine import execute
from flows_app.models import Flow, Run, StepRun
from flows_app.services import create_flow, create_run, edit_draft
from tests.flow_helpers import auth0_connection, step
from tests.test_logic import logic

PINNED_USER = {"email": "pinned@example.com", "app_metadata": {"plan": "pro"}}
PLAN = "{{ actions.get_user.app_metadata.plan }}"


def store(step_id: str, **values) -> dict:
    return logic(step_id, "STORE_VARS", vars=values)


def signup_steps(tenant_pk: int) -> list[dict]:
    """Look the user up, store a tier by plan (If/then), answer with the email and tier."""
    check = logic(
        "check",
        "BOOLEAN_CONDITION",
        **{
            "if": {"operator": "EQUALS", "operands": [PLAN, "pro"]},
            "then": [store("gold", tier="gold")],
            "else": [store("basic", tier="basic")],
        },
    )
    answer = logic(
        "answer",
        "RETURN_JSON",
        payload={"email": "{{ actions.get_user.email }}", "tier": "{{ vars.tier }}"},
    )
    lookup = step("get_user", "GET_USER", connection_id=tenant_pk, user_id="auth0|42")
    return [lookup, check, answer]


def signup_flow(owner, auth0_standin) -> Flow:
    """The flow, on a tenant that does not have its user, auth0|42 (yet)."""
    tenant = auth0_connection(auth0_standin)
    return create_flow(
        name="Signup",
        owner=owner,
        definition={"schema_version": 1, "actions": signup_steps(tenant.pk)},
        test_data={"context": {"user": {"user_id": "auth0|42"}}},
    )


def pin(flow: Flow, step_id: str, value) -> Flow:
    edit_draft(flow, pins.with_pin(flow.draft, step_id, value))
    flow.refresh_from_db()
    return flow


def run_test(flow: Flow) -> Run:
    """Run the draft as Run test does, to its end."""
    return execute(create_run(flow, trigger=Run.Trigger.TEST, draft=True))


def records(run: Run) -> dict[str, StepRun]:
    return {record.step_id: record for record in run.steps.all()}
