"""Runs per second and enqueue-to-finish latency through real Celery workers.

A 3-step flow of Custom API requests (GET /api/v2/users/{id}) runs against a local Auth0
stand-in, N runs at a time, with 1 and then 2 solo worker processes (as ``make run`` starts
them; ``SLUICE_BENCH_POOL=prefork`` for prefork workers of concurrency 1), on the embedded
SQLite broker or on Redis. The database is a fresh SQLite file either way.

Run from the repository root:
    .venv/bin/python -m benchmarks.throughput [runs] [embedded|redis]

The production-like modes (daphne, PostgreSQL, Redis, runs started over HTTP) are in
benchmarks.api_load:
    .venv/bin/python -m benchmarks.throughput push [runs] [workers]
    .venv/bin/python -m benchmarks.throughput wait|poll [clients] [seconds] [workers]
"""

import os
import statistics
import sys
import tempfile

from benchmarks.django_setup import setup_django
from benchmarks.stack import POOL

API_MODES = ("push", "wait", "poll")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] not in API_MODES else 100
BROKER = sys.argv[2] if len(sys.argv) > 2 else "embedded"
REDIS_URL = os.environ.get("SLUICE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def build_flow(standin):
    from benchmarks.engine import create_user
    from flows_app.services import create_flow
    from tests.flow_helpers import auth0_connection, step

    tenant = auth0_connection(standin)
    user_id = create_user(standin)
    path = "/api/v2/users/{{ functions.encodeURIComponent(context.user.user_id) }}"
    steps = [
        step(f"s{n}", "SEND_REQUEST", connection_id=tenant.pk, method="GET", pathname=path)
        for n in range(3)
    ]
    flow = create_flow(name="Throughput", definition={"schema_version": 1, "actions": steps})
    return flow, {"context": {"user": {"user_id": user_id}}}


def push(flow, data, count: int) -> list[int]:
    from flows_app.models import Run
    from flows_app.services import create_run
    from flows_app.tasks import execute_run

    ids = []
    for _ in range(count):
        run = create_run(flow, trigger=Run.Trigger.API, input=data, draft=True)
        execute_run.delay(run.pk)
        ids.append(run.pk)
    return ids


def measure(flow, data, processes: int) -> dict:
    from flows_app.models import Run
    from sluice.celery import app
    from tests.workers import Workers, wait_until

    workers = Workers()
    app.conf.task_default_queue = workers.queue
    workers.start(count=processes, pool=POOL)
    try:
        warm = push(flow, data, processes * 2)
        wait_until(lambda: _final(warm), timeout=120)
        ids = push(flow, data, RUNS)
        wait_until(lambda: _final(ids), timeout=600)
    finally:
        workers.stop()
    runs = list(Run.objects.filter(pk__in=ids).values("status", "created_at", "finished_at"))
    latencies = sorted((r["finished_at"] - r["created_at"]).total_seconds() * 1000 for r in runs)
    span = max(r["finished_at"] for r in runs) - min(r["created_at"] for r in runs)
    return {
        "processes": processes,
        "succeeded": sum(r["status"] == "succeeded" for r in runs),
        "per_second": len(runs) / span.total_seconds(),
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, round(len(latencies) * 0.95) - 1)],
    }


def _final(ids) -> bool:
    from flows_app.models import Run

    return Run.objects.filter(pk__in=ids, status__in=Run.FINAL).count() == len(ids)


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir, **({"SLUICE_BROKER_URL": REDIS_URL} if BROKER == "redis" else {}))
        from tests.standins.auth0 import Auth0Standin

        standin = Auth0Standin()
        standin.start()
        try:
            flow, data = build_flow(standin)
            results = [measure(flow, data, processes) for processes in (1, 2)]
        finally:
            standin.stop()
    print(
        f"{RUNS} runs of a 3-step flow of Custom API requests, {POOL} workers, {BROKER} "
        "broker, SQLite database, local Auth0 stand-in:"
    )
    for r in results:
        print(
            f"  {r['processes']} worker process(es): {r['per_second']:6.1f} runs/s, "
            f"enqueue-to-finish p50 {r['p50']:7.0f} ms, p95 {r['p95']:7.0f} ms "
            f"({r['succeeded']}/{RUNS} succeeded)"
        )
    print(f"command: .venv/bin/python -m benchmarks.throughput {RUNS} {BROKER}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in API_MODES:
        from benchmarks import api_load

        api_load.main(sys.argv[1:])
    else:
        main()
