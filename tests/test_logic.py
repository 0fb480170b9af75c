"""Logic actions and the allow_failure / mask_output switches, run by the engine."""

import json

from django.test import Client

from flows_app.api_auth import create_token
from flows_app.definition import validate
from flows_app.engine import execute
from flows_app.models import Run, StepRun
from flows_app.redaction import MASK
from tests.flow_helpers import auth0_connection, run_steps, step, user_input


def logic(step_id: str, action: str, **params) -> dict:
    return {"id": step_id, "type": "FLOW", "action": action, "params": params}


def records(run: Run) -> dict[str, StepRun]:
    return {s.step_id: s for s in run.steps.all()}


def failing(step_id: str, **switches) -> dict:
    """A step that fails without any vendor: Return JSON of a list."""
    return {**logic(step_id, "RETURN_JSON", payload="{{ functions.toArray(1) }}"), **switches}


def echo(step_id: str, value) -> dict:
    """A step whose output shows what it read: Return JSON of ``value``."""
    return logic(step_id, "RETURN_JSON", payload={"seen": value})


# The logic actions


def test_stored_vars_keep_their_types_and_reach_every_later_step(db):
    run = run_steps(
        logic(
            "store",
            "STORE_VARS",
            vars={"count": "{{ vars.n }}", "user": "{{ context.user }}", "label": "n={{ vars.n }}"},
        ),
        logic("more", "STORE_VARS", vars={"count": "{{ vars.count }}", "plan": "gold"}),
        echo("read", "{{ vars }}"),
        input={**user_input(), "vars": {"n": 3}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    stored = records(run)["store"].output
    assert stored["count"] == 3 and stored["label"] == "n=3"
    assert stored["user"]["user_id"] == "auth0|123"
    assert run.result["seen"]["n"] == 3
    assert run.result["seen"]["count"] == 3 and run.result["seen"]["plan"] == "gold"


def test_map_value_picks_the_matching_case_compared_as_text(db):
    cases = {"1": "{{ vars.gold }}", "2": "silver"}
    run = run_steps(
        logic("tier", "MAP_VALUE", input="{{ vars.level }}", cases=cases, fallback="bronze"),
        input={"vars": {"level": 1, "gold": {"name": "gold"}}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert records(run)["tier"].output == {"result": {"name": "gold"}}


def test_map_value_falls_back_when_no_case_matches(db):
    run = run_steps(
        logic("tier", "MAP_VALUE", input="{{ vars.level }}", cases={"1": "gold"}, fallback="none"),
        logic("tier2", "MAP_VALUE", input="x", cases={"1": "gold"}),
        input={"vars": {"level": 7}},
    )
    assert records(run)["tier"].output == {"result": "none"}
    assert records(run)["tier2"].output == {"result": None}


def test_do_nothing_outputs_an_empty_object(db):
    run = run_steps(logic("noop", "DO_NOTHING"))
    assert run.status == Run.Status.SUCCEEDED
    assert records(run)["noop"].output == {}


def test_return_json_sets_the_run_result(db):
    run = run_steps(
        logic("answer", "RETURN_JSON", payload={"ok": True, "id": "{{ context.user.user_id }}"}),
        logic("text", "RETURN_JSON", payload="Hello {{ context.user.email }}"),
        input=user_input(),
    )
    assert run.status == Run.Status.SUCCEEDED
    assert records(run)["answer"].output == {"ok": True, "id": "auth0|123"}
    run.refresh_from_db()
    assert run.result == "Hello ada@example.com"  # the last Return JSON wins


def test_return_json_fails_when_its_payload_renders_to_a_list(db):
    run = run_steps(
        logic("answer", "RETURN_JSON", payload="{{ vars.items }}"), input={"vars": {"items": [1]}}
    )
    assert run.status == Run.Status.FAILED
    assert "JSON object or text" in records(run)["answer"].error


def test_error_message_ends_the_run_naming_the_step_even_if_failure_is_allowed(db):
    stop = logic("stop", "ERROR_MESSAGE", message="No plan for {{ context.user.email }}")
    run = run_steps(
        {**stop, "allow_failure": True}, logic("after", "DO_NOTHING"), input=user_input()
    )
    assert run.status == Run.Status.FAILED
    assert run.error == "Step stop (Show error message) failed: No plan for ada@example.com"
    assert records(run)["stop"].status == StepRun.Status.FAILED
    assert "after" not in records(run)


# allow_failure


def test_an_allowed_failure_lets_the_run_go_on_and_exposes_the_error(db):
    run = run_steps(
        failing("lookup", allow_failure=True),
        echo("read", "{{ actions.lookup.error.message }}"),
        echo("whole", "{{ actions.lookup }}"),
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.error == ""
    steps = records(run)
    assert steps["lookup"].status == StepRun.Status.FAILED
    assert steps["read"].output["seen"] == "The payload must be a JSON object or text."
    assert steps["whole"].output["seen"] == {
        "error": {"message": steps["lookup"].error, "status": None, "body": None}
    }


def test_a_failure_not_allowed_still_fails_the_run(db):
    run = run_steps(failing("lookup", allow_failure=False), logic("after", "DO_NOTHING"))
    assert run.status == Run.Status.FAILED
    assert "after" not in records(run)


def test_resuming_does_not_repeat_an_allowed_failure_and_keeps_vars(db):
    run = run_steps(
        failing("lookup", allow_failure=True),
        logic("store", "STORE_VARS", vars={"n": 5}),
        echo("read", "{{ vars.n }} {{ actions.lookup.error.message }}"),
    )
    lookup = records(run)["lookup"]
    StepRun.objects.filter(run=run, step_id="read").delete()  # as if the worker died there
    run = execute(Run.objects.get(pk=run.pk))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert records(run)["lookup"].started_at == lookup.started_at  # not executed again
    assert records(run)["read"].output["seen"] == "5 The payload must be a JSON object or text."


def test_an_allowed_vendor_failure_exposes_its_status_and_body(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    lookup = step("lookup", "GET_USER", connection_id=tenant.pk, user_id="auth0|does-not-exist")
    run = run_steps(
        {**lookup, "allow_failure": True},
        echo("read", "{{ actions.lookup.error.status }} {{ actions.lookup.error.body.errorCode }}"),
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert records(run)["read"].output == {"seen": "404 inexistent_user"}


# mask_output


def test_a_masked_output_is_used_by_later_steps_but_hidden_in_the_record_and_api(db, admin_user):
    secret_step = {**logic("code", "STORE_VARS", vars={"code": "481516"}), "mask_output": True}
    run = run_steps(secret_step, echo("read", "code {{ actions.code.code }} / {{ vars.code }}"))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert records(run)["code"].output == MASK
    assert records(run)["read"].output == {"seen": "code 481516 / 481516"}
    token = create_token(run.flow, name="Reader", user=admin_user)[1]
    response = Client().get(f"/api/runs/{run.pk}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    [code] = [s for s in body["steps"] if s["step_id"] == "code"]
    assert code["output"] == MASK
    assert body["result"] == {"seen": "code 481516 / 481516"}
    assert "481516" not in json.dumps(code["output"])  # its rendered inputs stay visible


# The run page


def test_the_run_page_shows_allowed_failures_masks_and_the_result(db, viewer_client):
    run = run_steps(
        failing("lookup", allow_failure=True),
        {**logic("code", "STORE_VARS", vars={"code": "481516"}), "mask_output": True},
        logic("answer", "RETURN_JSON", payload={"answer": "forty-two"}),
    )
    page = viewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Failed (allowed)" in page
    assert "masked: this step hides its output" in page
    assert f'<pre class="json">&quot;{MASK}&quot;</pre>' in page
    assert "Result" in page and "forty-two" in page


# Validation


def problems(*steps) -> list[str]:
    return [str(p) for p in validate({"schema_version": 1, "actions": list(steps)})]


def test_valid_logic_steps_have_no_problems(db):
    assert (
        problems(
            logic("store", "STORE_VARS", vars={"plan": "{{ context.user.email }}"}),
            logic("map", "MAP_VALUE", input="{{ vars.plan }}", cases={"a": "b"}, fallback="c"),
            logic("noop", "DO_NOTHING"),
            logic("answer", "RETURN_JSON", payload={"plan": "{{ actions.map.result }}"}),
            logic("stop", "ERROR_MESSAGE", message="Stopped"),
        )
        == []
    )


def test_logic_steps_validate_their_inputs(db):
    found = problems(
        logic("store", "STORE_VARS", vars={"not ok": "x", "fine": {"a": 1}}),
        logic("map", "MAP_VALUE", cases={"a": "{{ nowhere.x }}"}),
        logic("stop", "ERROR_MESSAGE", message="x" * 2049),
        logic("answer", "RETURN_JSON", payload=[1]),
        logic("empty", "ERROR_MESSAGE"),
        logic("noop", "DO_NOTHING", extra="x"),
    )
    assert "store · Variables: fine: a value must be text, a number, true/false or null." in found
    assert any(p.startswith("store · Variables: 'not ok': a name is letters") for p in found)
    assert "map · Input value: Required." in found
    assert any(p.startswith("map · Mapping: nowhere.x is undefined") for p in found)
    assert "stop · Error message: At most 2048 characters (2049 now)." in found
    assert "answer · Payload: Must be a JSON object or text." in found
    assert "empty · Error message: Required." in found
    assert "noop: Do nothing has no input 'extra'." in found
