"""What one run costs a worker: CPU and wall time per run of the task a worker executes.

The worker's task (``flows_app.tasks.execute_run``: the claim, the heartbeat, the engine,
progress events on the Redis channel layer) runs in this process, one run after another,
for the 3-step flow of ``benchmarks.throughput`` against the fast stub in a process of its
own, on PostgreSQL (a fresh database ``sluice_bench`` on 127.0.0.1:5432) or SQLite. No
broker and no web server: the CPU time is this process's own, so it moves much less with
the machine's load than the throughput figures do. Use it to compare two versions of the
code, one after the other.

Run from the repository root:  .venv/bin/python -m benchmarks.run_cost [runs] [postgres|sqlite]
"""

import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.django_setup import setup_django
from benchmarks.stack import PG_ADMIN, REDIS, free_port, wait_for_port

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 500
DATABASE = sys.argv[2] if len(sys.argv) > 2 else "postgres"
ROUNDS = 5


def main() -> None:
    port = free_port()
    stub = subprocess.Popen([sys.executable, "-m", "benchmarks.stub", str(port)])
    try:
        wait_for_port(port)
        with tempfile.TemporaryDirectory() as data_dir:
            setup_django(data_dir, **_settings())
            report(measure(port))
    finally:
        stub.terminate()
        stub.wait()


def _settings() -> dict[str, str]:
    found = {"SLUICE_CHANNEL_LAYER_URL": f"{REDIS}/1"}
    if DATABASE == "postgres":
        from benchmarks.stack import DATABASE as NAME
        from benchmarks.stack import fresh_database

        fresh_database()
        found["DATABASE_URL"] = f"{PG_ADMIN}/{NAME}"
    return found


def measure(port: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from benchmarks.api_load import INPUT, build_flow
    from flows_app.models import Run
    from flows_app.services import create_run
    from flows_app.tasks import execute_run

    flow, _token = build_flow(port)

    def queue(count: int) -> list[int]:
        return [create_run(flow, trigger=Run.Trigger.API, input=INPUT).pk for _ in range(count)]

    for run_id in queue(20):  # warm up: imports, the token, the connections
        execute_run(run_id)
    [counted] = queue(1)
    with CaptureQueriesContext(connection) as captured:
        execute_run(counted)
    queries = len(captured.captured_queries)
    cpu, wall = [], []
    for _ in range(ROUNDS):
        ids = queue(RUNS // ROUNDS)
        started_cpu, started = time.process_time(), time.perf_counter()
        for run_id in ids:
            execute_run(run_id)
        cpu.append((time.process_time() - started_cpu) * 1000 / len(ids))
        wall.append((time.perf_counter() - started) * 1000 / len(ids))
    failed = Run.objects.exclude(status=Run.Status.SUCCEEDED).count()
    return {"cpu": cpu, "wall": wall, "queries": queries, "failed": failed}


def report(figures: dict) -> None:
    cpu, wall = figures["cpu"], figures["wall"]
    print(
        f"{RUNS} runs of a 3-step flow executed one after another by the worker's task, "
        f"{DATABASE} database, Redis channel layer ({figures['failed']} not succeeded):"
    )
    print(f"  CPU per run    median {statistics.median(cpu):6.2f} ms  (rounds: {_list(cpu)})")
    print(f"  wall per run   median {statistics.median(wall):6.2f} ms  (rounds: {_list(wall)})")
    print(f"  queries per run  {figures['queries']}")
    print(f"command: .venv/bin/python -m benchmarks.run_cost {RUNS} {DATABASE}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    main()
