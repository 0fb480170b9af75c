"""Test one step of the draft: run it alone, on what the editor knows of the steps before it.

A test of one step is a run (trigger "step", in run history like any run, executed by a
worker like a test run) of a definition that holds only that step: an If/then without its
branches, so it only decides which one it would take. It reads the flow's test data, and
as ``actions.<id>`` what the previews read: the outputs of the steps before it in the
latest test run or their pins (masked ones as they are, not by their shape), sealed in the
run's definition under ``given`` (see ``flows_app.engine``). Its ``vars`` are the shared
variables as they stood before the step (the test data's when none is known).

The step does for real what it does in a test run: an email is sent, a user is changed.
Its record shows its rendered inputs (secrets redacted) and its output, on the run page and
in the inspector. It feeds no preview (the latest test run stays the one the previews
read), but its output can be pinned.
"""

import copy
from typing import Any

from django.db import transaction

from flows_app import events
from flows_app.definition import SCHEMA_VERSION, action_of, branches_of, find
from flows_app.latest_run import Known, known_before
from flows_app.models import Flow, Run
from flows_app.preview import readable_steps
from flows_app.redaction import seal_output
from flows_app.services import InvalidFlow, problems_of


class CannotTest(Exception):
    """The step cannot be tested alone; the message says why."""


def start_step_test(flow: Flow, step_id: str, user=None) -> Run:
    """Queue a test of one step of the draft and return its run.

    Raises CannotTest for a step that is not there, not supported, or a Delay (alone it
    would only wait), and InvalidFlow with the step's own problems.
    """
    from flows_app.tasks import enqueue

    step = _testable(flow, step_id)
    earlier = [readable.step_id for readable in readable_steps(flow.draft, step_id)]
    known = known_before(flow, earlier, reveal=True)
    run = Run.objects.create(
        flow=flow,
        definition=_lone_definition(step, known.outputs),
        trigger=Run.Trigger.STEP,
        input=_input(flow, known),
        created_by=user,
    )
    events.run_changed(run)
    transaction.on_commit(lambda: enqueue(run.pk))
    return run


def _testable(flow: Flow, step_id: str) -> dict:
    placed = find(flow.draft, step_id)
    if placed is None:
        raise CannotTest(f"There is no step {step_id!r} in this flow.")
    action = action_of(placed.step)
    if action is None:
        raise CannotTest("Sluice does not support this action yet, so it cannot run.")
    if action.extra.get("effect") == "delay":
        raise CannotTest("A Delay only waits: test it within the flow with Run test.")
    problems = [p for p in problems_of(flow.draft) if p.step_id == step_id]
    if problems:
        raise InvalidFlow(problems)
    return placed.step


def _lone_definition(step: dict, given: dict[str, Any]) -> dict[str, Any]:
    lone = copy.deepcopy(step)
    for name, _ in branches_of(lone):
        lone["params"][name] = []
    definition: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "actions": [lone]}
    if given:
        definition["given"] = seal_output(given)
    return definition


def _input(flow: Flow, known: Known) -> dict[str, Any]:
    data = flow.test_data if isinstance(flow.test_data, dict) else {}
    given_vars = data.get("vars") if known.vars is None else known.vars
    return {
        "context": data.get("context") or {},
        "fields": data.get("fields") or {},
        "vars": given_vars if isinstance(given_vars, dict) else {},
    }
