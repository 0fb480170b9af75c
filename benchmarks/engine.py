"""What the engine costs on top of the HTTP requests a flow makes.

A 10-step flow of Custom API requests (GET /api/v2/users/{id} with an encoded id and a URL
param), published, runs against a local stand-in of Auth0, through the engine: the run
queued as the API queues it, rendering, the run and step records in SQLite (or PostgreSQL:
a fresh database ``sluice_bench`` on 127.0.0.1:5432), redaction, the Management API
client. The same 10 requests are then made directly with one httpx client. Both print per
run and their ratio, in wall time and in this process's CPU time (which the stand-in's
thread shares; it moves less with the machine's load than the wall time does).

Run from the repository root:  .venv/bin/python -m benchmarks.engine [runs] [sqlite|postgres]
"""

import statistics
import sys
import tempfile
import time

from benchmarks.django_setup import setup_django

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
DATABASE = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
STEPS = 10


def timed(work, runs: int) -> list[float]:
    """Wall ms of each of ``runs`` calls; the process's CPU ms per call is added at the end."""
    times = []
    cpu = time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return [*times, (time.process_time() - cpu) * 1000 / runs]


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir, **_database())
        from tests.standins.auth0 import Auth0Standin

        standin = Auth0Standin()
        standin.start()
        try:
            engine_ms, direct_ms = measure(standin)
        finally:
            standin.stop()
    report(engine_ms, direct_ms)


def _database() -> dict[str, str]:
    if DATABASE != "postgres":
        return {}
    from benchmarks.stack import DATABASE as NAME
    from benchmarks.stack import PG_ADMIN, fresh_database

    fresh_database()
    return {"DATABASE_URL": f"{PG_ADMIN}/{NAME}"}


def measure(standin) -> tuple[list[float], list[float]]:
    import httpx

    from flows_app.engine import execute
    from flows_app.models import Run
    from flows_app.services import create_flow, create_run, publish_flow
    from tests.flow_helpers import auth0_connection, step

    tenant = auth0_connection(standin)
    user = (
        standin.create_user_record(email="ada@example.com")
        if hasattr(standin, "create_user_record")
        else None
    )
    user_id = user["user_id"] if user else create_user(standin)
    path = "/api/v2/users/{{ functions.encodeURIComponent(context.user.user_id) }}"
    steps = [
        step(
            f"s{n}",
            "SEND_REQUEST",
            connection_id=tenant.pk,
            method="GET",
            pathname=path,
            params={"fields": "email"},
        )
        for n in range(STEPS)
    ]
    flow = create_flow(name="Benchmark", definition={"schema_version": 1, "actions": steps})
    version = publish_flow(flow)  # the API reads it with the caller's token, in one query
    data = {"context": {"user": {"user_id": user_id}}}

    def through_engine():
        run = execute(create_run(flow, trigger=Run.Trigger.API, input=data, version=version))
        assert run.status == Run.Status.SUCCEEDED, run.error

    through_engine()  # warm up: the token, the parse cache, the connection
    engine_ms = timed(through_engine, RUNS)
    token = standin.credentials()
    token = _token(standin, token)
    encoded = httpx.URL(f"{standin.base_url}/api/v2/users/").copy_with(
        raw_path=f"/api/v2/users/{user_id.replace('|', '%7C')}".encode()
    )
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:

        def direct():
            for _ in range(STEPS):
                http.get(encoded, params={"fields": "email"}).raise_for_status()

        direct()
        direct_ms = timed(direct, RUNS)
    return engine_ms, direct_ms


def create_user(standin) -> str:
    """Create a user at the stand-in directly; return its user_id."""
    import httpx

    token = _token(standin, standin.credentials())
    answer = httpx.post(
        f"{standin.base_url}/api/v2/users",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "connection": "Username-Password-Authentication",
            "email": "ada@example.com",
            "password": "Pa55word!long",
        },
    )
    answer.raise_for_status()
    return answer.json()["user_id"]


def _token(standin, credentials) -> str:
    import httpx

    answer = httpx.post(
        f"{standin.base_url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "audience": standin.audience,
        },
    )
    return answer.json()["access_token"]


def report(engine_times: list[float], direct_times: list[float]) -> None:
    *engine_ms, engine_cpu = engine_times
    *direct_ms, direct_cpu = direct_times
    engine, direct = statistics.median(engine_ms), statistics.median(direct_ms)
    print(
        f"{STEPS}-step flow of Custom API requests against a local Auth0 stand-in, "
        f"{RUNS} runs, {DATABASE} database, median per run:"
    )
    print(f"  through the engine   {engine:8.2f} ms  (p95 {_p95(engine_ms):.2f} ms)")
    print(f"  direct httpx         {direct:8.2f} ms  (p95 {_p95(direct_ms):.2f} ms)")
    print(f"  ratio                {engine / direct:8.2f}x")
    print(f"  per step overhead    {(engine - direct) / STEPS:8.2f} ms")
    print(
        f"  CPU per run          {engine_cpu:8.2f} ms through the engine, {direct_cpu:.2f} ms "
        f"direct (this process, the stand-in's thread included): "
        f"{(engine_cpu - direct_cpu) / STEPS:.2f} ms per step"
    )
    print(f"command: .venv/bin/python -m benchmarks.engine {RUNS} {DATABASE}")


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


if __name__ == "__main__":
    main()
