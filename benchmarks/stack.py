"""A production-like Sluice for load benchmarks: PostgreSQL, Redis, daphne and N workers.

The stack runs in processes of its own, as a deployment would: ``daphne`` serving the API,
``celery worker`` processes (``--pool solo``, or the pool ``SLUICE_BENCH_POOL`` names), and a
fast Auth0 stand-in (benchmarks.stub). It uses a fresh
PostgreSQL database (``sluice_bench`` on 127.0.0.1:5432) and Redis databases 0 (broker) and
1 (channel layer) on 127.0.0.1:6379, which it empties first. Settings are the embedded
default's with those URLs, because production mode refuses the local endpoint the stand-in
listens on; everything else (persistent database connections, the shared channel layer)
is what production runs with.

Also here: a small HTTP/1.1 client on asyncio that costs the load generator little CPU,
and CPU accounting of the stack's processes from /proc.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("SLUICE_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# The workers' pool: solo, as the README recommends for production; prefork to compare.
POOL = os.environ.get("SLUICE_BENCH_POOL", "solo")
REDIS = os.environ.get("SLUICE_BENCH_REDIS", "redis://127.0.0.1:6379")
DATABASE = "sluice_bench"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")


def _flush_redis() -> None:
    import redis

    for number in (0, 1):
        redis.Redis.from_url(f"{REDIS}/{number}").flushdb()


class Stack:
    """Start with ``with Stack(workers=2) as stack:``; ``stack.url`` is daphne's address."""

    def __init__(self, workers: int = 2, concurrency: int = 1):
        self.workers = workers
        self.concurrency = concurrency
        self.pool = POOL
        self.port = free_port()
        self.stub_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")},
            "SLUICE_MODE": "embedded",
            "SLUICE_DATA_DIR": tempfile.mkdtemp(prefix="sluice-bench-"),
            "DATABASE_URL": f"{PG_ADMIN}/{DATABASE}",
            "SLUICE_BROKER_URL": f"{REDIS}/0",
            "SLUICE_CHANNEL_LAYER_URL": f"{REDIS}/1",
            "SLUICE_ALLOW_LOCAL_ENDPOINTS": "true",
            "SLUICE_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "SLUICE_QUEUE": f"sluice-bench-{uuid.uuid4().hex[:8]}",
            "SLUICE_LOG_LEVEL": "warning",
            "DJANGO_SETTINGS_MODULE": "sluice.settings",
        }
        # daphne refuses to start without collected static files: the stack collects its own.
        self.env["SLUICE_STATIC_ROOT"] = str(Path(self.env["SLUICE_DATA_DIR"]) / "static")
        self.processes: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> "Stack":
        fresh_database()
        _flush_redis()
        os.environ.clear()
        os.environ.update(self.env)
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._start("stub", [sys.executable, "-m", "benchmarks.stub", str(self.stub_port)])
        self._start("web", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p",
                            str(self.port), "sluice.asgi:application"])  # fmt: skip
        for number in range(self.workers):
            self._start(f"worker{number}", self._worker_command(number))
        wait_for_port(self.stub_port)
        wait_for_port(self.port)
        return self

    def _worker_command(self, number: int) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "sluice", "worker",
                "-n", f"bench{number}@%h", "--concurrency", str(self.concurrency),
                "-Q", self.env["SLUICE_QUEUE"], "--without-gossip", "--without-mingle",
                "--loglevel", "WARNING", "--pool", self.pool]  # fmt: skip

    def _start(self, name: str, command: list[str]) -> None:
        log = open(Path(self.env["SLUICE_DATA_DIR"]) / f"{name}.log", "wb")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, start_new_session=True, stdout=log, stderr=log
        )

    def __exit__(self, *exc) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of the web server, of all workers (pools
        included), and of the whole machine (every core's busy time)."""
        web = _tree_cpu(self.processes["web"].pid)
        workers = sum(_tree_cpu(p.pid) for n, p in self.processes.items() if n.startswith("worker"))
        return {"web": web, "workers": workers, "machine": _machine_cpu()}


def _machine_cpu() -> float:
    """Busy time of all cores: user, nice, system, irq, softirq and steal (``/proc/stat``)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def _tree_cpu(pid: int) -> float:
    total = 0.0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return total


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found += _tree(int(child))
    return found


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; ``request`` returns (status, headers, body)."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        assert self.reader is not None
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        answer = {}
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                answer[name.strip().lower()] = value.strip()
        data = await self._body(answer)
        if answer.get("connection", "").lower() == "close":
            self.writer.close()
            self.writer = None
        return status, answer, data

    async def _body(self, headers: dict[str, str]) -> bytes:
        assert self.reader is not None
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        chunks = b""
        while True:
            size = int((await self.reader.readline()).strip(), 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return chunks
            chunks += chunk[:-2]

    async def json(self, method: str, path: str, headers: dict[str, str], payload=None):
        body = json.dumps(payload).encode() if payload is not None else b""
        status, answer, data = await self.request(
            method, path, {"Content-Type": "application/json", **headers}, body
        )
        try:
            return status, answer, json.loads(data) if data else None
        except ValueError:
            raise RuntimeError(f"{method} {path} answered {status}: {data[:200]!r}") from None
