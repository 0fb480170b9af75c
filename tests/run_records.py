"""Runs of flows with If/then branches and delays, their step records written by hand.

The engine writes these records in production; the run page and the API only read them,
so their tests build them directly, as the engine's contract describes them.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from flows_app.definition import walk
from flows_app.models import Flow, Run, StepRun
from flows_app.redaction import MASK
from flows_app.services import create_flow
from tests.flow_helpers import step

SECRET_PIN = "pin-8841-secret"
SECRET_EXPECTED = "expected-8841-secret"


def logic(step_id: str, action: str, alias: str | None = None, **params) -> dict:
    return {**step(step_id, action, alias, **params), "type": "FLOW"}


def condition(step_id, alias, operator, operands, then=(), otherwise=(), **switches) -> dict:
    test = {"operator": operator, "operands": operands}
    if_then = logic(step_id, "BOOLEAN_CONDITION", alias, then=list(then), **{"if": test})
    if_then["params"]["else"] = list(otherwise)
    return {**if_then, **switches}


def leaf(operator: str, *operands) -> dict:
    return {"operator": operator, "operands": list(operands)}


def check(operator: str, left, right=None, result=True, defined=(True, True)) -> dict:
    operands = [left] if right is None and operator.endswith(("EMPTY", "EXISTS")) else [left, right]
    return {
        "operator": operator,
        "operands": operands,
        "defined": list(defined)[: len(operands)],
        "result": result,
    }


def make_run(definition_steps: list, status=Run.Status.SUCCEEDED, name="Plans", **fields) -> Run:
    """A run of a new flow's draft, in ``status``; the definition need not be valid."""
    definition = {"schema_version": 1, "actions": definition_steps}
    flow: Flow = create_flow(name=name, definition=definition)
    now = timezone.now()
    return Run.objects.create(
        flow=flow,
        definition=definition,
        trigger=Run.Trigger.MANUAL,
        input={"vars": {"source": "signup"}},
        status=status,
        started_at=now - timedelta(seconds=3),
        finished_at=now if status in Run.FINAL else None,
        **fields,
    )


def record(run: Run, step_id: str, status=StepRun.Status.SUCCEEDED, **fields) -> StepRun:
    """The record of one step, at its place in the definition's walk."""
    position, placed = next(
        (n, p) for n, p in enumerate(walk(run.definition)) if p.step.get("id") == step_id
    )
    action_type = f"{placed.step['type']}/{placed.step['action']}"
    if status == StepRun.Status.SKIPPED:
        fields = {"inputs": {}, "output": None, **fields}
    else:
        fields = {"duration_ms": 5, **fields}
    return StepRun.objects.create(
        run=run, step_id=step_id, action_type=action_type, position=position, status=status,
        **fields,
    )  # fmt: skip


# A flow that took Then at the top, then Else in a nested If/then; its Else steps skipped.

PLAN_STEPS = [
    step("get_user", "GET_USER", "Look up the user", connection_id=1, user_id="auth0|1"),
    condition(
        "check_plan",
        "Is the plan pro?",
        "AND",
        [
            leaf("EQUALS", "{{ actions.get_user.app_metadata.plan }}", "pro"),
            leaf("GREATER_THAN", "{{ actions.get_user.logins_count }}", 3),
        ],
        then=[
            logic("remember", "STORE_VARS", "Remember the tier", vars={"tier": "gold"}),
            condition(
                "check_region",
                "In the EU?",
                "OR",
                [
                    leaf("EQUALS", "{{ context.region }}", "eu"),
                    leaf("EXISTS", "{{ vars.consent }}"),
                ],
                then=[step("eu_mail", "SEND_EMAIL", "Send the EU notice", to="a@example.com")],
                otherwise=[logic("mark", "STORE_VARS", "Mark as elsewhere", vars={"eu": False})],
            ),
        ],
        otherwise=[
            step("downgrade", "UPDATE_USER", "Downgrade the user", connection_id=1),
            step("tell", "SEND_SMS", "Text about the downgrade", to="+1", message="x"),
        ],
    ),
    logic("answer", "RETURN_JSON", "Answer", payload={"ok": True}),
]


def plan_run() -> Run:
    run = make_run(PLAN_STEPS, result={"ok": True})
    user = {"app_metadata": {"plan": "pro"}, "logins_count": 12}
    record(run, "get_user", output=user, http_status=200, inputs={"user_id": "auth0|1"})
    record(
        run, "check_plan", output={"result": True},
        inputs={"if": {"operator": "AND", "operands": []}, "then": [], "else": []},
        detail={"branch": "then", "checks": [
            check("EQUALS", "pro", "pro", True),
            check("GREATER_THAN", 12, 3, True),
        ]},
    )  # fmt: skip
    record(run, "remember", output={"tier": "gold"}, vars={"source": "signup", "tier": "gold"})
    record(
        run, "check_region", output={"result": False},
        detail={"branch": "else", "checks": [
            check("EQUALS", None, "eu", False, defined=(False, True)),
            check("EXISTS", None, result=False, defined=(False,)),
        ]},
    )  # fmt: skip
    record(run, "eu_mail", StepRun.Status.SKIPPED)
    after = {"source": "signup", "tier": "gold", "eu": False}
    record(run, "mark", output={"eu": False}, vars=after)
    record(run, "downgrade", StepRun.Status.SKIPPED)
    record(run, "tell", StepRun.Status.SKIPPED)
    record(run, "answer", output={"ok": True})
    return run


# A flow waiting in a delay, and one cancelled while it waited.

DELAY_STEPS = [
    logic("note", "STORE_VARS", "Note the signup", vars={"step": "waiting"}),
    logic("pause", "DELAY_FLOW", "Wait a day", number=1, units="DAYS"),
    step("remind", "SEND_SMS", "Send the reminder", to="+1", message="Still there?"),
]


def waiting_run(resume_at: datetime) -> Run:
    run = make_run(DELAY_STEPS, Run.Status.WAITING, name="Reminder", resume_at=resume_at)
    record(run, "note", output={"step": "waiting"}, vars={"source": "signup", "step": "waiting"})
    record(
        run, "pause", StepRun.Status.WAITING, output=None,
        detail={"seconds": 86400, "until": resume_at.isoformat()},
    )  # fmt: skip
    return run


def cancelled_waiting_run(until: datetime) -> Run:
    run = make_run(
        DELAY_STEPS,
        Run.Status.CANCELLED,
        name="Reminder",
        error="Cancelled by eddie@example.com while waiting in a delay; the steps after it did "
        "not run.",
    )
    record(run, "note", output={"step": "waiting"}, vars={"source": "signup", "step": "waiting"})
    record(
        run, "pause", StepRun.Status.CANCELLED, output=None, error="Cancelled while waiting.",
        detail={"seconds": 86400, "until": until.isoformat()},
    )  # fmt: skip
    return run


# A masked If/then: its record holds MASK for its output and its operand values.

MASKED_STEPS = [
    condition(
        "check_pin",
        "Does the PIN match?",
        "AND",
        [leaf("EQUALS", "{{ actions.lookup.pin }}", "{{ context.expected }}")],
        then=[logic("ok", "DO_NOTHING", "Carry on")],
        otherwise=[logic("stop", "ERROR_MESSAGE", "Refuse", message="Wrong PIN")],
        mask_output=True,
    ),
]


def masked_run() -> Run:
    run = make_run(MASKED_STEPS, name="PIN check")
    # The rendered condition in the inputs is what an engine that forgot the mask would keep.
    secrets = {"operator": "EQUALS", "operands": [SECRET_PIN, SECRET_EXPECTED]}
    rendered = {"operator": "AND", "operands": [{**secrets, "defined": [True, True]}]}
    record(
        run, "check_pin", output=MASK, inputs={"if": rendered, "then": [], "else": []},
        detail={"branch": "then", "checks": [check("EQUALS", MASK, MASK, True)]},
    )  # fmt: skip
    record(run, "ok", output={})
    record(run, "stop", StepRun.Status.SKIPPED)
    return run
