"""Runs per second through the HTTP API of a production-like stack (see benchmarks.stack).

One flow of three Custom API requests (``GET /api/v2/users/{id}``) to the same local stub,
published, started over HTTP with a flow token. Three ways to load it:

- ``push``: N runs started as fast as 8 connections can, then waited for: the stack's
  throughput with a backlog, every step recorded.
- ``wait``: C clients in a closed loop, each starting a run with ``Prefer: wait=30`` and
  waiting for its answer, for T seconds.
- ``poll``: C clients in a closed loop, each starting a run and polling ``GET /api/runs/<id>``
  every 10 ms until it is final (what callers had to do before run-and-wait).

Each prints runs/s, client-seen (or enqueue-to-finish) latency, CPU ms per run in the web
server, in the workers and in the rest of the machine (PostgreSQL, Redis, the stub, the
load generator: all share the same cores), and the queries one run start and one run
execution make.
"""

import asyncio
import json
import statistics
import time

from benchmarks.stack import POOL, HttpConnection, Stack


def build_flow(stub_port: int):
    """A published 3-step flow against the stub, and a token that may start it."""
    from flows_app.api_auth import create_token
    from flows_app.services import create_flow, publish_flow
    from tests.flow_helpers import connection, step

    tenant = connection(
        "auth0",
        "Bench tenant",
        {"domain": f"127.0.0.1:{stub_port}", "client_id": "bench", "client_secret": "s3cret"},
    )
    path = "/api/v2/users/{{ functions.encodeURIComponent(context.user.user_id) }}"
    steps = [
        step(f"s{n}", "SEND_REQUEST", connection_id=tenant.pk, method="GET", pathname=path)
        for n in range(3)
    ]
    flow = create_flow(name="Throughput", definition={"schema_version": 1, "actions": steps})
    publish_flow(flow)
    _, token = create_token(flow, name="bench")
    return flow, token


INPUT = {"context": {"user": {"user_id": "auth0|bench"}}}


class Client:
    def __init__(self, port: int, flow_id: int, token: str):
        self.connection = HttpConnection(port)
        self.path = f"/api/flows/{flow_id}/runs"
        self.auth = {"Authorization": f"Bearer {token}"}

    async def start(self, wait: int | None = None) -> dict:
        headers = {**self.auth, **({"Prefer": f"wait={wait}"} if wait else {})}
        status, _, body = await self.connection.json("POST", self.path, headers, INPUT)
        if status not in (200, 202):
            raise RuntimeError(f"start answered {status}: {body}")
        return body

    async def until_final(self, run_id: int) -> dict:
        while True:
            _, _, body = await self.connection.json("GET", f"/api/runs/{run_id}", self.auth)
            if body["final"]:
                return body
            await asyncio.sleep(0.01)


async def push(port: int, flow_id: int, token: str, runs: int) -> list[int]:
    """Start ``runs`` runs over 8 connections; return their ids."""
    ids: list[int] = []

    async def one_connection(share: int) -> None:
        client = Client(port, flow_id, token)
        for _ in range(share):
            ids.append((await client.start())["id"])

    await asyncio.gather(*(one_connection(runs // 8 + (n < runs % 8)) for n in range(8)))
    return ids


async def closed_loop(port, flow_id, token, clients: int, seconds: float, how: str) -> list:
    """Each client starts a run and waits for its end, again and again; return latencies."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one_client() -> None:
        client = Client(port, flow_id, token)
        while time.monotonic() < deadline:
            began = time.perf_counter()
            if how == "wait":
                body = await client.start(wait=30)
                if not body.get("final"):
                    body = await client.until_final(body["id"])
            else:
                body = await client.until_final((await client.start())["id"])
            if body["status"] != "succeeded":
                raise RuntimeError(f"run {body['id']} {body['status']}: {body.get('error')}")
            latencies.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies


def queries_per_run(flow, token: str) -> tuple[int, int]:
    """The queries one API start makes, and the queries one execution of that run makes."""
    from unittest import mock

    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from flows_app.tasks import execute_run
    from sluice.celery import app

    app.conf.task_always_eager = False
    client = DjangoClient()
    headers = {"Authorization": f"Bearer {token}"}
    post = lambda: client.post(  # noqa: E731
        f"/api/flows/{flow.pk}/runs", json.dumps(INPUT), "application/json", headers=headers
    )
    with mock.patch("flows_app.tasks.enqueue"):  # the benchmark's own process runs them
        warm = post().json()["id"]  # warm the caches a long-running process has
        with CaptureQueriesContext(connection) as started:
            run_id = post().json()["id"]
    execute_run(warm)
    with CaptureQueriesContext(connection) as executed:
        execute_run(run_id)
    return len(started), len(executed)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(len(ordered) * share) - 1)]


def _report(title: str, count: int, span: float, latencies: list[float], cpu: dict, queries):
    print(title)
    print(
        f"  {count / span:7.1f} runs/s   latency p50 {statistics.median(latencies):7.1f} ms, "
        f"p95 {_percentile(latencies, 0.95):7.1f} ms"
    )
    rest = cpu["machine"] - cpu["web"] - cpu["workers"]
    print(
        f"  CPU per run: web {cpu['web'] * 1000 / count:5.1f} ms, "
        f"workers {cpu['workers'] * 1000 / count:5.1f} ms, "
        f"rest of the machine {rest * 1000 / count:5.1f} ms (PostgreSQL, Redis, stub, load)"
    )
    print(f"  queries: {queries[0]} per API start, {queries[1]} per run executed")


def _cpu_since(stack: Stack, before: dict) -> dict:
    after = stack.cpu_seconds()
    return {name: after[name] - before[name] for name in after}


def run_push(runs: int, workers: int) -> None:
    with Stack(workers=workers) as stack:
        from flows_app.models import Run

        flow, token = build_flow(stack.stub_port)
        asyncio.run(_warm(stack.port, flow.pk, token, workers))
        before = stack.cpu_seconds()
        ids = asyncio.run(push(stack.port, flow.pk, token, runs))
        while Run.objects.filter(pk__in=ids, status__in=Run.FINAL).count() < len(ids):
            time.sleep(0.2)
        cpu = _cpu_since(stack, before)
        rows = list(Run.objects.filter(pk__in=ids).values("status", "created_at", "finished_at"))
        queries = queries_per_run(flow, token)
    span = max(r["finished_at"] for r in rows) - min(r["created_at"] for r in rows)
    latencies = [(r["finished_at"] - r["created_at"]).total_seconds() * 1000 for r in rows]
    failed = sum(r["status"] != "succeeded" for r in rows)
    _report(
        f"{runs} runs pushed over the API, daphne + {workers} {POOL} worker(s), PostgreSQL + "
        f"Redis ({failed} not succeeded); latency is enqueue-to-finish:",
        runs,
        span.total_seconds(),
        latencies,
        cpu,
        queries,
    )


def run_closed_loop(how: str, clients: int, seconds: float, workers: int) -> None:
    with Stack(workers=workers) as stack:
        flow, token = build_flow(stack.stub_port)
        asyncio.run(_warm(stack.port, flow.pk, token, workers))
        before = stack.cpu_seconds()
        began = time.monotonic()
        latencies = asyncio.run(closed_loop(stack.port, flow.pk, token, clients, seconds, how))
        span = time.monotonic() - began
        cpu = _cpu_since(stack, before)
        queries = queries_per_run(flow, token)
    what = "run-and-wait (Prefer: wait=30)" if how == "wait" else "start, then poll every 10 ms"
    _report(
        f"{clients} client(s) in a closed loop for {seconds:g} s, {what}, daphne + {workers} "
        f"{POOL} worker(s), PostgreSQL + Redis; latency is what the client saw:",
        len(latencies),
        span,
        latencies,
        cpu,
        queries,
    )


async def _warm(port: int, flow_id: int, token: str, workers: int) -> None:
    """Let every worker fetch its token and open its connections before measuring."""
    client = Client(port, flow_id, token)
    ids = [(await client.start())["id"] for _ in range(workers * 4)]
    for run_id in ids:
        await client.until_final(run_id)


USAGE = """usage:
  python -m benchmarks.throughput push [runs] [workers]
  python -m benchmarks.throughput wait|poll [clients] [seconds] [workers]"""


def main(args: list[str]) -> None:
    mode, numbers = args[0], [int(a) for a in args[1:]]
    if mode == "push":
        runs, workers = (numbers + [1000, 2][len(numbers) :])[:2]
        run_push(runs, workers)
    else:
        clients, seconds, workers = (numbers + [8, 20, 2][len(numbers) :])[:3]
        run_closed_loop(mode, clients, seconds, workers)
    print(f"command: .venv/bin/python -m benchmarks.throughput {' '.join(args)}")
