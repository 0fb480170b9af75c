"""The newcomer's story, in a real browser, from a fresh data directory: `make run`'s first
start (the commands bin/run runs once set up: migrate, the first admin, the sample, then the
web server and a worker), sign in with the printed password, run the sample flow, see the
run succeed and the path it took, and open the captured email on the Outbox page."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot, sign_in
from tests.workers import wait_until

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
NOT_EMBEDDED = (
    "DATABASE_URL",
    "SLUICE_MODE",
    "SLUICE_BROKER_URL",
    "SLUICE_CHANNEL_LAYER_URL",
    "SLUICE_SECRET_KEY",
    "SLUICE_VAULT_KEYS",
    "SLUICE_ALLOWED_HOSTS",
    "SLUICE_ALLOW_LOCAL_ENDPOINTS",
    "SLUICE_PUBLIC_URL",
    "SLUICE_ADMIN_PASSWORD",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def run_commands() -> list[list[str]]:
    """The commands bin/run runs once Sluice is set up, in order; the last one serves."""
    commands = []
    for line in (ROOT / "bin" / "run").read_text().splitlines():
        words = shlex.split(line.removeprefix("exec ").replace('"$@"', ""))
        if words[:2] == [".venv/bin/python", "manage.py"]:
            commands.append([sys.executable, *words[1:]])
    return commands


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run's server exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"make run's server did not start listening:\n{log.read_text()}")


@pytest.fixture
def first_start(request, tmp_path, collected_static):
    """Start Sluice as `make run` does on a new machine (with one worker, or as many as the
    test's parameter says); yield its address and what it said."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k not in NOT_EMBEDDED}
    environ |= {
        "SLUICE_DATA_DIR": str(tmp_path / "var"),
        "SLUICE_PORT": str(port),
        "SLUICE_STATIC_ROOT": str(collected_static),
        "SLUICE_WORKER_CONCURRENCY": str(getattr(request, "param", 1)),
    }
    *setup, serve = run_commands()
    said = ""
    for command in setup:
        done = subprocess.run(
            command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        said += done.stdout
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            serve, cwd=ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_listening(port, server, log)
        request.node.server_pid = server.pid
        yield f"http://127.0.0.1:{port}", said
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: the web server and the worker stop
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def open_page(chromium, address: str, width: int):
    context = chromium.new_context(viewport={"width": width, "height": 900}, base_url=address)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_a_newcomer_runs_the_sample_and_reads_its_email(chromium, first_start):
    address, said = first_start
    found = re.search(r"Sign in as (\S+) with password (\S+)", said)
    assert found, said
    email, password = found.groups()
    assert "Set up the sample flow “Welcome a new user”" in said
    context, page = open_page(chromium, address, 1280)
    try:
        sign_in(page, email, password)
        screenshot(page, "newcomer-flows-1280")
        page.get_by_role("link", name="Welcome a new user").click()
        expect(page.get_by_label("Input (JSON)")).to_contain_text('"user_id": "auth0|')

        page.get_by_role("button", name="Run", exact=True).click()

        expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
        run_id = page.url.rstrip("/").rsplit("/", 1)[1]
        summary = page.locator(".run-status-line .status")
        expect(summary).to_have_text("Succeeded", timeout=120_000)  # a worker takes it up
        steps = f"#step-{run_id}-"
        expect(page.locator(f"{steps}welcome_email .step-meta .status")).to_have_text("Succeeded")
        expect(page.locator(f"{steps}welcome_sms .step-meta .status")).to_have_text("Skipped")
        expect(page.locator(f"{steps}check_plan .path-took-branch")).to_be_visible()
        expect(page.locator("h2:text-is('Result') + pre")).to_contain_text('"welcomed_by": "email"')
        screenshot(page, "newcomer-run-1280")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
        page.get_by_role("link", name="Welcome to Pro, Ada!").click()
        frame = page.frame_locator("iframe.message-frame")
        expect(frame.get_by_role("heading", name="Welcome aboard, Ada!")).to_be_visible()
        expect(page.get_by_role("link", name=f"Run {run_id}, step welcome_email")).to_be_visible()
        screenshot(page, "newcomer-outbox-1280")
    finally:
        context.close()

    context, page = open_page(chromium, address, 390)
    try:
        sign_in(page, email, password)
        screenshot(page, "newcomer-flows-390")
        page.goto("/outbox/")
        expect(page.get_by_role("link", name="Welcome to Pro, Ada!")).to_be_visible()
        screenshot(page, "newcomer-outbox-list-390")
        page.get_by_role("link", name="Welcome to Pro, Ada!").click()
        frame = page.frame_locator("iframe.message-frame")
        expect(frame.get_by_role("heading", name="Welcome aboard, Ada!")).to_be_visible()
        screenshot(page, "newcomer-outbox-390")
        page.goto("/sandbox/sample/")
        expect(page.get_by_role("link", name="Edit grace@example.com")).to_be_visible()
        screenshot(page, "newcomer-sandbox-390")
    finally:
        context.close()


@pytest.mark.parametrize("first_start", [2], indirect=True)
def test_make_run_starts_a_solo_worker_for_each_run_at_once(request, first_start):
    server = request.node.server_pid
    assert wait_until(lambda: len(workers_of(server)) == 2), workers_of(server)
    workers = workers_of(server)
    assert all("--pool solo" in worker for worker in workers), workers
    assert sorted(re.search(r"-n (sluice\d)@", w).group(1) for w in workers) == [
        "sluice1",
        "sluice2",
    ]
    assert [w.endswith(" -B") for w in workers].count(True) == 1, "one keeps the schedule"


def workers_of(parent: int) -> list[str]:
    """The command lines of the Celery workers a process started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # the process ended while being read
        if int(fields[1]) == parent and " celery " in command and " worker " in command:
            found.append(command.strip())
    return found
