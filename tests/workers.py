"""Real Celery worker processes against the test database, for tests and benchmarks."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database this process uses (the test database, under pytest)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """Start, kill and stop `celery worker` processes that listen on one private queue."""

    def __init__(self, **settings: str):
        self.queue = f"sluice-test-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "SLUICE_QUEUE": self.queue,
            "SLUICE_LOG_LEVEL": "warning",
            **settings,
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.processes: list[subprocess.Popen] = []
        self.output: Path | None = None  # where the workers' output goes, if anywhere

    def start(self, count: int = 1, concurrency: int = 1, pool: str = "prefork") -> None:
        """Start ``count`` workers: prefork ones with ``concurrency`` pool processes each, or
        solo ones (``pool="solo"``) that execute one run at a time in their own process."""
        for _ in range(count):
            name = f"w{len(self.processes)}-{self.queue}@%h"
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sluice",
                "worker",
                "-n",
                name,
                *(["--pool", "solo"] if pool == "solo" else ["--concurrency", str(concurrency)]),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                self.queue,
            ]
            sink = self.output.open("ab") if self.output else subprocess.DEVNULL
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    start_new_session=True,
                    stdout=sink,
                    stderr=subprocess.STDOUT if self.output else subprocess.DEVNULL,
                )
            )
            if self.output:
                sink.close()

    def kill(self) -> None:
        """SIGKILL every worker process and its pool: no warm shutdown, no acknowledgement."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float = 60.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
