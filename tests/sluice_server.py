"""Sluice itself served by daphne, against the test database, for the sandbox tenants.

Sandbox tenants are reached over HTTP, as the Management API client reaches any tenant, and
the sandbox reads request paths as they were sent (ASGI's ``raw_path``): so the tests serve
Sluice the way ``make run`` does, with a real daphne, rather than with Django's WSGI test
server. It runs for the whole session; tests that use it need ``transactional_db`` so that
what they write is committed where daphne can read it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.workers import database_url

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    """Wait for daphne to accept connections; fail with its log if it exits instead."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"daphne did not start listening:\n{log.read_text()}")


COLLECT = (
    "import django; django.setup(); "
    "from sluice import static_files; static_files.collect_if_needed()"
)


@pytest.fixture(scope="session")
def collected_static() -> Path:
    """Static files collected as Sluice's web server needs them (it refuses to start
    without), kept between sessions and collected again only when they change."""
    root = Path(settings.DATA_DIR) / "collected-static"
    environ = {**os.environ, "SLUICE_STATIC_ROOT": str(root)}
    environ.setdefault("DJANGO_SETTINGS_MODULE", "sluice.settings")
    subprocess.run([sys.executable, "-c", COLLECT], cwd=ROOT, env=environ, check=True)
    return root


@pytest.fixture(scope="session")
def sluice_server(django_db_setup, collected_static, tmp_path_factory) -> str:
    """The address of a daphne serving Sluice against the test database."""
    port = _free_port()
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    environ = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SLUICE_STATIC_ROOT": str(collected_static),
        "SLUICE_LOG_LEVEL": "warning",
    }
    environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            + ["sluice.asgi:application"],
            cwd=ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_listening(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def sandbox(transactional_db, sluice_server, settings):
    """A sandbox tenant, ``acme``, served by ``sluice_server``, with no users yet."""
    from sandbox_app.models import SandboxTenant

    settings.PUBLIC_URL = sluice_server
    return SandboxTenant.objects.create(slug="acme", name="Acme sandbox")


@pytest.fixture
def sandbox_connection(sandbox):
    """A vault connection of kind sandbox to the ``acme`` tenant."""
    from vault_app.models import Connection

    return Connection.objects.create(kind="sandbox", name="Acme sandbox", config={"tenant": "acme"})
