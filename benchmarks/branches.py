"""What If/then branches cost in the engine: a flow of logic steps only (no vendor calls),
five conditions nested inside each other, each deciding on a shared variable and storing
one, with a Store shared variables step on every branch not taken (recorded as skipped).

It prints the median and p95 time per run through ``flows_app.engine.execute`` on the
embedded default (SQLite), the number of step records each run writes, and the time per
record. Run from the repository root:  .venv/bin/python -m benchmarks.branches [runs]
"""

import statistics
import sys
import tempfile
import time

from benchmarks.django_setup import setup_django

DEPTH = 5


def condition(level: int) -> dict:
    inner = [condition(level + 1)] if level < DEPTH else []
    return {
        "id": f"check_{level}",
        "type": "FLOW",
        "action": "BOOLEAN_CONDITION",
        "params": {
            "if": {
                "operator": "AND",
                "operands": [
                    {"operator": "GREATER_THAN", "operands": ["{{ vars.level }}", str(level - 1)]},
                    {"operator": "EXISTS", "operands": ["{{ context.user.user_id }}"]},
                ],
            },
            "then": [
                {
                    "id": f"store_{level}",
                    "type": "FLOW",
                    "action": "STORE_VARS",
                    "params": {"vars": {"level": "{{ vars.level | plus: 1 }}"}},
                },
                *inner,
            ],
            "else": [
                {
                    "id": f"other_{level}",
                    "type": "FLOW",
                    "action": "STORE_VARS",
                    "params": {"vars": {"stopped": level}},
                }
            ],
        },
    }


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        from flows_app.engine import execute
        from flows_app.models import Run
        from flows_app.services import create_flow, create_run

        answer = {
            "id": "answer",
            "type": "FLOW",
            "action": "RETURN_JSON",
            "params": {"payload": {"level": "{{ vars.level }}"}},
        }
        flow = create_flow(
            name="Branches", definition={"schema_version": 1, "actions": [condition(1), answer]}
        )
        data = {"context": {"user": {"user_id": "auth0|1"}}, "vars": {"level": 1}}
        timings, records = [], 0
        for _ in range(runs):
            run = create_run(flow, trigger=Run.Trigger.TEST, input=data, draft=True)
            started = time.perf_counter()
            run = execute(run)
            timings.append((time.perf_counter() - started) * 1000)
            assert run.status == Run.Status.SUCCEEDED, run.error
            records = run.steps.count()
        median = statistics.median(timings)
        p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{DEPTH} nested If/then, {records} step records a run, {runs} runs:")
        print(f"  per run     {median:7.2f} ms median  (p95 {p95:.2f} ms)")
        print(f"  per record  {median / records:7.2f} ms")
        print(f"command: .venv/bin/python -m benchmarks.branches {runs}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
