"""If/then branches and Delay in the engine: the path taken, skipped steps, variables across
branches, resume inside a branch and across a delay, cancelling while waiting, masking."""

import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from flows_app import tasks
from flows_app.api_auth import create_token
from flows_app.definition import validate
from flows_app.engine import execute
from flows_app.interop import AUTH0, SLUICE, dump, export_document
from flows_app.models import Run, StepRun
from flows_app.redaction import MASK
from flows_app.services import cancel_run, create_flow, create_run
from tests.flow_helpers import auth0_connection, run_steps, step
from tests.test_logic import echo, failing, logic, records


def leaf(operator, *operands):
    return {"operator": operator, "operands": list(operands)}


def condition(step_id, when, then=(), otherwise=(), **switches):
    params = {"if": when, "then": list(then), "else": list(otherwise)}
    return {**logic(step_id, "BOOLEAN_CONDITION", **params), **switches}


def delay(step_id, number, units="SECONDS"):
    return logic(step_id, "DELAY_FLOW", number=number, units=units)


def store(step_id, **values):
    return logic(step_id, "STORE_VARS", vars=values)


def statuses(run):
    return {record.step_id: record.status for record in run.steps.all()}


PLAN_IS_PRO = leaf("EQUALS", "{{ vars.plan }}", "pro")


def plan_flow():
    return (
        condition(
            "is_pro",
            PLAN_IS_PRO,
            then=[store("pro_vars", label="Pro plan"), logic("pro_noop", "DO_NOTHING")],
            otherwise=[
                store("free_vars", label="Free plan"),
                condition(
                    "has_email",
                    leaf("EXISTS", "{{ context.user.email }}"),
                    then=[store("mail_vars", mail="yes")],
                    otherwise=[store("nomail_vars", mail="no")],
                ),
            ],
        ),
        echo("after", {"label": "{{ vars.label }}", "mail": "{{ vars.mail ?? 'n/a' }}"}),
    )


def test_the_then_branch_runs_and_the_else_branch_is_recorded_as_skipped(db):
    run = run_steps(*plan_flow(), input={"vars": {"plan": "pro"}})
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert statuses(run) == {
        "is_pro": "succeeded",
        "pro_vars": "succeeded",
        "pro_noop": "succeeded",
        "free_vars": "skipped",
        "has_email": "skipped",
        "mail_vars": "skipped",
        "nomail_vars": "skipped",
        "after": "succeeded",
    }
    decided = records(run)["is_pro"]
    assert decided.output == {"result": True}
    assert decided.detail == {
        "branch": "then",
        "checks": [
            {
                "operator": "EQUALS",
                "operands": ["pro", "pro"],
                "defined": [True, True],
                "result": True,
            }
        ],
    }
    assert run.result == {"seen": {"label": "Pro plan", "mail": "n/a"}}


def test_nested_conditions_take_the_else_path_and_vars_set_in_a_branch_reach_later_steps(db):
    run = run_steps(
        *plan_flow(), input={"vars": {"plan": "free"}, "context": {"user": {"email": "a@b.c"}}}
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    found = statuses(run)
    assert [found[s] for s in ("pro_vars", "pro_noop", "nomail_vars")] == ["skipped"] * 3
    assert [found[s] for s in ("free_vars", "has_email", "mail_vars")] == ["succeeded"] * 3
    assert records(run)["is_pro"].detail["branch"] == "else"
    assert records(run)["has_email"].detail["branch"] == "then"
    assert run.result == {"seen": {"label": "Free plan", "mail": "yes"}}
    assert records(run)["mail_vars"].vars == {"plan": "free", "label": "Free plan", "mail": "yes"}
    assert records(run)["after"].vars is None  # it set no variable


def test_records_are_in_reading_order(db):
    run = run_steps(*plan_flow(), input={"vars": {"plan": "pro"}})
    ordered = [r.step_id for r in run.steps.order_by("position")]
    assert ordered == [
        "is_pro",
        "pro_vars",
        "pro_noop",
        "free_vars",
        "has_email",
        "mail_vars",
        "nomail_vars",
        "after",
    ]


def test_a_skipped_step_s_output_is_undefined_for_later_steps(db):
    run = run_steps(
        condition("check", leaf("EQUALS", "1", "2"), then=[store("only_then", x=1)]),
        echo("read", "{{ actions.only_then.x ?? 'skipped' }}|{{ actions.check.result }}"),
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.result == {"seen": "skipped|false"}
    assert records(run)["only_then"].output is None


def test_undefined_operands_are_recorded_as_undefined(db):
    run = run_steps(condition("check", leaf("EQUALS", "{{ vars.missing }}", "")))
    check = records(run)["check"].detail["checks"][0]
    assert check["defined"] == [False, True] and check["result"] is False
    assert records(run)["check"].warnings == ["vars.missing is undefined"]


def test_a_failed_condition_whose_failure_is_allowed_skips_both_branches(db):
    broken = {"operator": "LIKE", "operands": []}
    steps = [
        condition("check", broken, then=[store("a", x=1)], otherwise=[store("b", x=2)]),
        logic("end", "DO_NOTHING"),
    ]
    steps[0]["allow_failure"] = True
    flow = create_flow(name="Broken", definition={"schema_version": 1, "actions": []})
    # Validation keeps such a flow from running; a definition stored before it could.
    definition = {"schema_version": 1, "actions": steps}
    run = execute(Run.objects.create(flow=flow, definition=definition, trigger=Run.Trigger.TEST))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert statuses(run) == {"check": "failed", "a": "skipped", "b": "skipped", "end": "succeeded"}
    assert "cannot be evaluated" in records(run)["check"].error


def test_a_failure_inside_a_branch_fails_the_run_naming_the_step(db):
    run = run_steps(
        condition("check", leaf("EXISTS", "x"), then=[failing("inner")]),
        logic("after", "DO_NOTHING"),
    )
    assert run.status == Run.Status.FAILED
    assert run.error.startswith("Step inner (Return JSON) failed")
    assert "after" not in statuses(run)


def test_an_error_message_in_a_branch_ends_the_run(db):
    run = run_steps(
        condition(
            "check",
            leaf("IS_EMPTY", "{{ vars.plan }}"),
            then=[logic("stop", "ERROR_MESSAGE", message="No plan for {{ vars.who }}")],
        ),
        logic("after", "DO_NOTHING"),
        input={"vars": {"who": "ada"}},
    )
    assert run.status == Run.Status.FAILED
    assert run.error == "Step stop (Show error message) failed: No plan for ada"


def test_resume_inside_a_branch_repeats_nothing_that_finished(db):
    run = run_steps(*plan_flow(), input={"vars": {"plan": "free"}, "context": {}})
    assert run.status == Run.Status.SUCCEEDED
    first = {r.step_id: r.finished_at for r in run.steps.all()}
    # The worker died while running nomail_vars: its record says running, after it nothing.
    run.steps.filter(step_id__in=["nomail_vars", "after"]).delete()
    StepRun.objects.create(
        run=run, step_id="nomail_vars", action_type="FLOW/STORE_VARS", position=6
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, result=None)
    run.refresh_from_db()
    resumed = execute(run)
    assert resumed.status == Run.Status.SUCCEEDED, resumed.error
    again = {r.step_id: r.finished_at for r in resumed.steps.all()}
    for kept in ("is_pro", "free_vars", "has_email", "pro_vars", "mail_vars"):
        assert again[kept] == first[kept]  # not executed again, skipped ones not re-made
    assert statuses(resumed)["mail_vars"] == "skipped"
    assert resumed.result == {"seen": {"label": "Free plan", "mail": "no"}}


# Delay


def test_a_delay_puts_the_run_to_sleep_and_the_next_pass_goes_on_after_it(db):
    flow = create_flow(
        name="Wait",
        definition={
            "schema_version": 1,
            "actions": [store("before", n=1), delay("pause", 2, "MINUTES"), echo("after", "ok")],
        },
    )
    run = execute(create_run(flow, trigger=Run.Trigger.TEST, input={}, draft=True))
    assert run.status == Run.Status.WAITING
    assert run.finished_at is None
    expected = timezone.now() + timedelta(minutes=2)
    assert abs((run.resume_at - expected).total_seconds()) < 5
    pause = records(run)["pause"]
    assert pause.status == StepRun.Status.WAITING
    assert pause.detail["seconds"] == 120
    assert "after" not in statuses(run)
    assert tasks.claim(run.pk) is None  # not before its time

    # Too early (a stray message): it sleeps on.
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    run.refresh_from_db()
    assert execute(run).status == Run.Status.WAITING

    past = (timezone.now() - timedelta(seconds=1)).isoformat()
    StepRun.objects.filter(pk=pause.pk).update(detail={"seconds": 120, "until": past})
    Run.objects.filter(pk=run.pk).update(resume_at=timezone.now() - timedelta(seconds=1))
    claimed = tasks.claim(run.pk)
    assert claimed is not None
    done = execute(claimed)
    assert done.status == Run.Status.SUCCEEDED, done.error
    assert statuses(done) == {"before": "succeeded", "pause": "succeeded", "after": "succeeded"}
    assert done.resumed_at is not None and done.result == {"seen": "ok"}
    assert records(done)["before"].finished_at < records(done)["pause"].finished_at


def test_a_zero_delay_does_not_wait(db):
    run = run_steps(delay("pause", 0), echo("after", "ok"))
    assert run.status == Run.Status.SUCCEEDED


def test_the_sweep_wakes_runs_whose_delay_is_over(db, monkeypatch):
    woken = []
    monkeypatch.setattr(tasks, "enqueue", woken.append)
    flow = create_flow(name="W", definition={"schema_version": 1, "actions": [delay("d", 1)]})
    due = execute(create_run(flow, trigger=Run.Trigger.TEST, input={}, draft=True))
    later = execute(create_run(flow, trigger=Run.Trigger.TEST, input={}, draft=True))
    Run.objects.filter(pk=due.pk).update(resume_at=timezone.now() - timedelta(seconds=1))
    assert tasks.sweep_runs()["woken"] == 1
    assert woken == [due.pk]
    assert later.status == Run.Status.WAITING


def test_cancelling_a_waiting_run_ends_it_at_once(db, admin_user):
    flow = create_flow(
        name="W",
        definition={"schema_version": 1, "actions": [delay("d", 1, "HOURS"), echo("x", 1)]},
    )
    run = execute(create_run(flow, trigger=Run.Trigger.TEST, input={}, draft=True))
    assert cancel_run(run, user=admin_user) is True
    assert run.status == Run.Status.CANCELLED and run.resume_at is None
    assert run.error.startswith(f"Cancelled by {admin_user.email} while waiting")
    assert records(run)["d"].status == StepRun.Status.CANCELLED
    Run.objects.filter(pk=run.pk).update(resume_at=timezone.now())
    assert tasks.claim(run.pk) is None  # a late wake-up finds nothing to do


def test_the_longest_delay_is_capped(db, settings):
    settings.MAX_DELAY = 3600
    problems = [str(p) for p in validate({"actions": [delay("d", 2, "HOURS")]})]
    assert problems == ["d · Wait for: At most 1 hour (SLUICE_MAX_DELAY)."]
    assert validate({"actions": [delay("d", 60, "MINUTES")]}) == []
    steps = [delay("d", "-1"), delay("e", 1, "WEEKS"), delay("f", -2), delay("g", "9" * 40)]
    bad = [str(p) for p in validate({"actions": steps})]
    assert bad == [
        "d · Wait for: Must be a whole number.",
        "e · Units: Choose one of SECONDS, MINUTES, HOURS, DAYS.",
        "f · Wait for: A whole number, 0 or more.",
        "g · Wait for: At most 1 hour (SLUICE_MAX_DELAY).",
    ]


# Validation of trees


def test_ids_are_unique_across_branches_and_references_follow_the_path(db):
    definition = {
        "actions": [
            condition(
                "c",
                leaf("EXISTS", "{{ actions.c.result }}"),
                then=[store("a", x="{{ actions.c.result }}")],
                otherwise=[store("b", x="{{ actions.a.x }}"), store("a", y=1)],
            ),
            echo("after", "{{ actions.a.x }} {{ actions.b.x }}"),
        ]
    }
    problems = [str(p) for p in validate(definition)]
    assert problems == [
        "c · Condition: actions.c.result refers to a step that does not run before this one.",
        "b · Variables: actions.a.x refers to a step that does not run before this one.",
        "a: Another step already has the id 'a'.",
    ]


def test_an_if_of_an_unknown_shape_is_reported_not_dropped(db):
    step_ = condition("c", {"kind": "js", "expr": "x > 1"})
    [problem] = validate({"actions": [step_]})
    assert problem.step_id == "c" and "kept as it was" in problem.message
    assert step_["params"]["if"] == {"kind": "js", "expr": "x > 1"}


# Masking


@pytest.fixture
def masked_lookup(db, auth0_standin):
    auth0_standin.users["auth0|42"] = {
        "user_id": "auth0|42",
        "email": "ada@example.com",
        "app_metadata": {"plan": "pro", "recovery_code": "RC-7f3a9d"},
    }
    connection = auth0_connection(auth0_standin)
    lookup = step("lookup", "GET_USER", connection_id=connection.pk, user_id="auth0|42")
    lookup["mask_output"] = True
    code = "{{ actions.lookup.app_metadata.recovery_code }}"
    return [
        lookup,
        condition(
            "has_code",
            leaf("STARTS_WITH", code, "RC-"),
            then=[{**store("kept", code=code), "mask_output": True}],
            mask_output=True,
        ),
        delay("pause", 1),
        echo("use", "length {{ vars.code | size }}"),
    ]


def test_a_masked_value_appears_in_no_page_api_answer_or_export(masked_lookup, admin_user):
    flow = create_flow(name="Masked", definition={"schema_version": 1, "actions": masked_lookup})
    run = execute(create_run(flow, trigger=Run.Trigger.TEST, input={}, draft=True))
    assert run.status == Run.Status.WAITING, run.error
    Run.objects.filter(pk=run.pk).update(resume_at=timezone.now())
    StepRun.objects.filter(run=run, step_id="pause").update(
        detail={"seconds": 1, "until": timezone.now().isoformat()}
    )
    # The next pass reads the masked outputs back from their sealed copies.
    run = execute(tasks.claim(run.pk))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.result == {"seen": "length 9"}
    found = records(run)
    assert found["lookup"].output == MASK and found["has_code"].output == MASK
    assert found["has_code"].detail["branch"] == "then"
    assert found["kept"].vars == {"code": MASK}

    client = Client()
    client.force_login(admin_user)
    token = create_token(flow, name="Reader", user=admin_user)[1]
    shown = [
        client.get(f"/runs/{run.pk}/").content.decode(),
        client.get(f"/flows/{flow.pk}/edit/").content.decode(),
        client.get(f"/api/runs/{run.pk}", headers={"Authorization": f"Bearer {token}"}).content,
        dump(export_document(flow, format=SLUICE)) + dump(export_document(flow, format=AUTH0)),
        json.dumps([r.inputs for r in run.steps.all()]),
    ]
    for text in shown:
        assert "RC-7f3a9d" not in (text.decode() if isinstance(text, bytes) else text)


def test_masked_outputs_kept_for_resume_follow_a_vault_key_rotation(db, settings, capsys):
    secret = {**store("secret", code="{{ vars.code }}"), "mask_output": True}
    flow = create_flow(
        name="Rotate",
        definition={
            "schema_version": 1,
            "actions": [secret, delay("d", 1), echo("use", "{{ vars.code }}")],
        },
    )
    run = execute(
        create_run(flow, trigger=Run.Trigger.TEST, input={"vars": {"code": "x9"}}, draft=True)
    )
    new_key = Fernet.generate_key().decode()
    settings.VAULT_KEYS = [new_key, *settings.VAULT_KEYS]
    call_command("rotate_vault_keys")
    assert "Re-encrypted 1 masked step output(s)" in capsys.readouterr().out
    settings.VAULT_KEYS = [new_key]
    StepRun.objects.filter(run=run, step_id="d").update(
        detail={"seconds": 1, "until": timezone.now().isoformat()}
    )
    Run.objects.filter(pk=run.pk).update(resume_at=timezone.now())
    done = execute(tasks.claim(run.pk))
    assert done.status == Run.Status.SUCCEEDED, done.error
    assert records(done)["use"].output == {"seen": "x9"}


def test_a_wake_up_that_comes_a_little_early_still_ends_the_delay(db):
    flow = create_flow(
        name="Early", definition={"schema_version": 1, "actions": [delay("d", 1), echo("x", 1)]}
    )
    run = execute(create_run(flow, trigger=Run.Trigger.TEST, input={}, draft=True))
    assert run.status == Run.Status.WAITING
    claimed = tasks.claim(run.pk)  # a countdown that fired before the delay's end
    assert claimed is not None
    done = execute(claimed)
    assert done.status == Run.Status.SUCCEEDED, done.error
    assert done.finished_at >= run.resume_at


def test_a_masked_variable_stays_masked_in_the_variables_shown_after_later_steps(db):
    secret = {**store("secret", code="{{ vars.given }}"), "mask_output": True}
    run = run_steps(
        secret,
        store("later", other=1),
        store("again", code="public"),
        input={"vars": {"given": "s3cr3t-42"}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    found = records(run)
    assert found["secret"].vars["code"] == MASK
    assert found["later"].vars == {"given": "s3cr3t-42", "code": MASK, "other": 1}
    assert found["again"].vars["code"] == "public"  # stored in the open, shown in the open
