"""What the run list costs with 100,000 runs: page 1 and a deep page, for each filter.

Creates a throwaway SQLite database (the embedded default) with 5 flows and 100,000 runs
over 90 days (mostly succeeded, 10 % failed with their failed step recorded, a few
running or queued; triggers mixed), then times the run list view through Django's test
client: the whole server side (middleware, session, queries, template), no network.
A deep page is one whose cursor points near the end of the filtered runs.

Run from the repository root:  .venv/bin/python -m benchmarks.run_list [runs] [repeats]
"""

import statistics
import sys
import tempfile
import time
from contextlib import contextmanager

from benchmarks.django_setup import setup_django

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 7
BATCH = 5_000


@contextmanager
def own_timestamps(model):
    """Let bulk_create keep the created_at we give it instead of now()."""
    field = model._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


def populate(count: int):
    from datetime import timedelta

    from django.utils import timezone

    from accounts_app.models import Role, User
    from flows_app.models import Run, StepRun
    from flows_app.services import create_flow, publish_flow

    user = User.objects.create_user("bench@example.com", "x" * 20, role=Role.EDITOR)
    definition = {
        "schema_version": 1,
        "actions": [
            {
                "id": f"s{n}",
                "type": "AUTH0",
                "action": "SEND_SMS",
                "params": {"to": "+14155550123", "message": "Hello {{ context.user.name }}"},
            }
            for n in range(3)
        ],
    }
    flows = [create_flow(name=f"Flow {n}", definition=definition) for n in range(5)]
    versions = [publish_flow(flow, user=user) for flow in flows]
    statuses = ["succeeded"] * 85 + ["failed"] * 10 + ["cancelled"] * 3 + ["running", "queued"]
    triggers = ["api"] * 5 + ["manual"] * 3 + ["cli", "test"]
    now, step = timezone.now(), timedelta(days=90) / count
    with own_timestamps(Run):
        for start in range(0, count, BATCH):
            runs = []
            for n in range(start, min(count, start + BATCH)):
                created = now - step * (count - n)
                status = statuses[(n * 7) % len(statuses)]
                final = status not in ("running", "queued")
                runs.append(
                    Run(
                        flow=flows[n % 5],
                        version=versions[n % 5],
                        definition=definition,
                        status=status,
                        trigger=triggers[(n * 3) % len(triggers)],
                        input={"context": {"user": {"name": f"User {n}"}}},
                        created_by=user,
                        created_at=created,
                        started_at=created if status != "queued" else None,
                        finished_at=created + timedelta(milliseconds=140) if final else None,
                        attempts=1,
                    )
                )
            Run.objects.bulk_create(runs)
            StepRun.objects.bulk_create(
                StepRun(
                    run=run,
                    step_id="s1",
                    action_type="AUTH0/SEND_SMS",
                    position=1,
                    status="failed",
                    error="Twilio error 21610",
                )
                for run in runs
                if run.status == "failed"
            )
    return user, flows


def deep_cursor(query: dict) -> str:
    """The cursor of the row 100 places before the end of the filtered runs."""
    from django.test import RequestFactory

    from flows_app.models import Flow
    from flows_app.views.runs import Cursor, RunFilters, list_queryset

    flows = list(Flow.objects.values_list("pk", "name"))
    runs = RunFilters(RequestFactory().get("/", query).GET, flows).apply(list_queryset())
    total = runs.count()
    row = runs.order_by("-created_at", "-id")[max(0, total - 100)]
    return str(Cursor.of(row))


def measure(client, query: dict) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from flows_app.views.runs import PAGE_SIZE

    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get("/runs/", query)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/runs/", query)
    rows = response.content.count(b'id="run-row-')
    assert rows <= PAGE_SIZE
    return statistics.median(times), len(queries), rows


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        from datetime import timedelta

        from django.test import Client
        from django.utils import timezone

        started = time.perf_counter()
        user, flows = populate(RUNS)
        print(f"created {RUNS:,} runs in {time.perf_counter() - started:.1f} s (SQLite, embedded)")
        client = Client()
        client.force_login(user)
        client.get("/runs/")  # warm up
        today = timezone.localdate()
        filters = {
            "no filter": {},
            "flow": {"flow": flows[2].pk},
            "status=failed": {"status": "failed"},
            "status=running": {"status": "running"},
            "trigger=cli": {"trigger": "cli"},
            "last 7 days": {"from": (today - timedelta(days=7)).isoformat()},
            "30 to 20 days ago": {
                "from": (today - timedelta(days=30)).isoformat(),
                "to": (today - timedelta(days=20)).isoformat(),
            },
            "flow+status+trigger": {"flow": flows[1].pk, "status": "failed", "trigger": "api"},
        }
        print(f"median of {REPEATS} requests to /runs/, server side, 50 rows a page:")
        print(f"  {'filter':<22}{'page 1':>12}{'deep page':>12}{'queries':>9}")
        for name, query in filters.items():
            first, queries, _ = measure(client, query)
            deep, deep_queries, _ = measure(client, {**query, "after": deep_cursor(query)})
            print(
                f"  {name:<22}{first:>9.1f} ms{deep:>9.1f} ms"
                f"{max(queries, deep_queries):>6} / {min(queries, deep_queries)}"
            )
    print(f"command: .venv/bin/python -m benchmarks.run_list {RUNS} {REPEATS}")


if __name__ == "__main__":
    main()
