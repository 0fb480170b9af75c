"""What one step's write costs: the statement the engine makes before every step acts.

It records the previous step's outcome and the next step's "running" record (the latter
only while nobody asked the run to stop), in one round trip and one commit
(``flows_app.writes.save_all``), here for a record like the benchmark flow's Custom API
request, over and over on one run. Printed per write: wall time, this process's CPU time
and, on PostgreSQL, the CPU time of the database's server process for this connection
(read from /proc: the server must run on this machine). It runs in rounds; the smallest
figure of the rounds is the one to compare between two versions of the code, as it is the
least disturbed by the rest of the machine.

Run from the repository root:  .venv/bin/python -m benchmarks.step_write [writes] [postgres|sqlite]
"""

import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.django_setup import setup_django
from benchmarks.stack import PG_ADMIN

WRITES = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
DATABASE = sys.argv[2] if len(sys.argv) > 2 else "postgres"
ROUNDS = 5
TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir, **_settings())
        rounds = [measure() for _ in range(ROUNDS)]
    print(
        f"one step's write ({WRITES} per round, {ROUNDS} rounds, {DATABASE}), "
        "smallest of the rounds:"
    )
    for name, unit in (("wall", "ms"), ("cpu", "ms"), ("server", "ms")):
        figures = [r[name] for r in rounds if r[name] is not None]
        if figures:
            shown = ", ".join(f"{figure:.3f}" for figure in figures)
            print(f"  {LABELS[name]:28} {min(figures):6.3f} {unit}  (rounds: {shown})")
    print(f"command: .venv/bin/python -m benchmarks.step_write {WRITES} {DATABASE}")


LABELS = {
    "wall": "wall per write",
    "cpu": "this process's CPU per write",
    "server": "PostgreSQL's CPU per write",
}


def _settings() -> dict[str, str]:
    if DATABASE != "postgres":
        return {}
    from benchmarks.stack import DATABASE as NAME
    from benchmarks.stack import fresh_database

    fresh_database()
    return {"DATABASE_URL": f"{PG_ADMIN}/{NAME}"}


def measure() -> dict:
    from django.db import connection
    from django.utils import timezone

    from flows_app.models import Run, StepRun
    from flows_app.services import create_flow, create_run
    from flows_app.writes import save_all

    flow = create_flow(name="Step writes", definition={"schema_version": 1, "actions": []})
    run = create_run(flow, trigger=Run.Trigger.API, input={}, draft=True)
    inputs = {"method": "GET", "pathname": "/api/v2/users/auth0%7C" + "a" * 24, "params": {}}
    output = {"user_id": "auth0|" + "a" * 24, "email": "ada@example.com", "name": "Ada"}

    def record(position: int) -> StepRun:
        return StepRun(
            run=run,
            step_id=f"s{position}",
            action_type="AUTH0_SEND_REQUEST",
            position=position,
            inputs=inputs,
            started_at=timezone.now(),
        )

    previous = record(0)
    save_all([(previous, None)], unless_cancelled=run.pk)
    server = _server_process(connection)
    wall, cpu, server_before = time.perf_counter(), time.process_time(), _ticks(server)
    for position in range(1, WRITES + 1):
        previous.status, previous.output = StepRun.Status.SUCCEEDED, output
        previous.finished_at, previous.duration_ms = timezone.now(), 3
        following = record(position)
        fields = ["status", "output", "finished_at", "duration_ms"]
        assert save_all([(previous, fields), (following, None)], unless_cancelled=run.pk)
        previous = following
    server_after = _ticks(server)
    return {
        "wall": (time.perf_counter() - wall) * 1000 / WRITES,
        "cpu": (time.process_time() - cpu) * 1000 / WRITES,
        "server": None
        if server_before is None or server_after is None
        else (server_after - server_before) * 1000 / TICKS / WRITES,
    }


def _server_process(connection) -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _ticks(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime


if __name__ == "__main__":
    main()
