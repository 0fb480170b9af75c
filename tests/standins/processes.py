"""Real server processes a test starts and stops: a throwaway Redis, a TCP proxy in front of
the machine's PostgreSQL, and Sluice's web server (daphne)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers import wait_until

ROOT = Path(__file__).resolve().parent.parent.parent


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class Process:
    """A command that listens on ``port``: start() waits until it accepts connections,
    stop() until the port refuses them."""

    def __init__(
        self,
        port: int,
        command: list[str],
        env: dict[str, str] | None = None,
        output: Path | None = None,
    ):
        self.port = port
        self.command = command
        self.env = env
        self.output = output  # where its standard output and error go, if anywhere
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        sink = self.output.open("ab") if self.output else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT if self.output else subprocess.DEVNULL,
        )
        if self.output:
            sink.close()
        started = wait_until(lambda: accepts(self.port) or self.process.poll() is not None, 60)
        assert started and self.process.poll() is None, f"{self.command[0]} did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        assert wait_until(lambda: not accepts(self.port), 30)


def redis_server(port: int) -> Process:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    return Process(
        port,
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    )


def tcp_proxy(port: int, host: str, target: int) -> Process:
    return Process(
        port, [sys.executable, "-m", "tests.standins.tcp_proxy", str(port), host, str(target)]
    )


def web_server(port: int, output: Path | None = None, **variables: str) -> Process:
    """Sluice's Django application under daphne, with these variables over this process's."""
    env = {**os.environ, "SLUICE_LOG_LEVEL": "warning", **variables}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port)]
    return Process(port, [*command, "tests.web_asgi:application"], env, output)
