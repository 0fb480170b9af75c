"""Start the web server and Celery workers together; Ctrl-C stops them all.

The static files are collected first when they changed since the last collectstatic.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from sluice import env, static_files


class Command(BaseCommand):
    help = "Run Sluice: the ASGI web server (daphne) and Celery workers, until Ctrl-C."
    # The checks run once the static files are collected, which they check too.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default=env.string("SLUICE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env.integer("SLUICE_PORT", 8000, 1, 65535))
        parser.add_argument(
            "--concurrency",
            type=int,
            default=env.integer("SLUICE_WORKER_CONCURRENCY", 2, 1, 64),
            help="How many runs the workers execute at once: one worker process for each.",
        )
        parser.add_argument("--no-worker", action="store_true", help="Start the web server only.")

    def handle(self, host, port, concurrency, no_worker, **options):
        if static_files.collect_if_needed():
            self.stdout.write(f"Collected the static files into {settings.STATIC_ROOT}.")
        metrics_dir = fresh_metrics_dir()
        self.check()
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "daphne",
                "-v",  # Sluice logs each request itself (sluice.access), in its log format
                "0",
                "-b",
                host,
                "-p",
                str(port),
                "--proxy-headers",
                "sluice.asgi:application",
            ]
        }
        if not no_worker:
            for number in range(1, concurrency + 1):
                commands[f"worker {number}"] = worker_command(number)
        environ = {
            **_children_environ(host, port),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        children = {
            name: subprocess.Popen(cmd, start_new_session=True, env=environ)
            for name, cmd in commands.items()
        }
        self.stdout.write(
            f"Sluice is running on http://{host}:{port}/ "
            f"({settings.MODE} mode; data in {settings.DATA_DIR}). "
            "Press Ctrl-C to stop."
        )
        self.stdout.flush()
        stop = _Stop()
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        code = _wait(children, stop)
        _terminate(children)
        self.stdout.write("Sluice stopped.")
        sys.exit(code)


def worker_command(number: int) -> list[str]:
    """A solo worker: it executes one run at a time in its own process, so ``concurrency``
    of them execute that many at once (see the README's "Scaling out" for why not Celery's
    prefork pool). The first also keeps the schedule (-B: the sweep for lost runs and for
    delays that are over, pruning)."""
    command = [sys.executable, "-m", "celery", "-A", "sluice", "worker", "--pool", "solo"]
    command += ["-n", f"sluice{number}@%h", "--loglevel", "INFO"]
    return command + (["-B"] if number == 1 else [])


def fresh_metrics_dir() -> Path:
    """The directory the web server and worker count their metrics in, emptied: counts of
    processes from an earlier start would otherwise be added to the new ones."""
    path = Path(settings.METRICS_DIR or settings.DATA_DIR / "metrics")
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    settings.METRICS_DIR = str(path)  # for the system check that follows
    return path


def _children_environ(host: str, port: int) -> dict[str, str]:
    """The environment of the web server and worker: in the embedded default, workers reach
    sandbox tenants at the address served here unless SLUICE_PUBLIC_URL says otherwise."""
    environ = dict(os.environ)
    chosen = "SLUICE_PUBLIC_URL" in environ or "SLUICE_PUBLIC_URL_FILE" in environ
    if not settings.PRODUCTION and not chosen:
        environ["SLUICE_PUBLIC_URL"] = env.local_origin(host, port)
    return environ


class _Stop:
    requested = False

    def __call__(self, signum, frame):
        self.requested = True


def _wait(children: dict, stop: _Stop) -> int:
    while not stop.requested:
        for name, child in children.items():
            if child.poll() is not None:
                print(
                    f"sluice: the {name} process exited with code {child.returncode}; stopping.",
                    file=sys.stderr,
                )
                return child.returncode or 1
        time.sleep(0.3)
    return 0


def _terminate(children: dict, grace: float = 10.0) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()  # a worker finishes the run it executes: a warm shutdown
    deadline = time.monotonic() + grace
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
