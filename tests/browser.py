"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from django.db import connections

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    """One browser per test module: Playwright's sync API keeps an event loop running in this
    thread while it is open, where Django's test client cannot call an async view."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("SLUICE_TEST_CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is not installed; `bin/setup --dev` installs it.")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls that tests
    # make between browser steps are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # Playwright runs the rest of the session in a greenlet with its own context, where
    # Django's per-context connections are new ones: close them on both sides of it, so
    # none is left holding the test database open when it is dropped.
    connections.close_all()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
        connections.close_all()


class RequestGate:
    """The live server's application, behind a gate that turns requests away once a test is
    over, after letting the ones under way finish: a request the browser sends as its pages
    close (a save as you type, by a beacon) must not write while the test database is being
    emptied, which on PostgreSQL deadlocks."""

    def __init__(self, app):
        self.app = app
        self.is_open = True
        self.busy = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self.changed:
            if not self.is_open:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"The test is over."]
            self.busy += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.changed:
                self.busy -= 1
                self.changed.notify_all()

    def open(self):
        with self.changed:
            self.is_open = True

    def close(self, timeout=30):
        with self.changed:
            self.is_open = False
            self.changed.wait_for(lambda: self.busy == 0, timeout)


@pytest.fixture(scope="session")
def request_gate(live_server):
    server = live_server.thread.httpd
    gate = RequestGate(server.get_app())
    server.set_app(gate)
    return gate


@pytest.fixture
def page_factory(chromium, live_server, request_gate):
    request_gate.open()
    contexts = []

    def open_page(width=1280, height=900):
        context = chromium.new_context(
            viewport={"width": width, "height": height}, base_url=live_server.url
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    request_gate.close()
    for context in contexts:
        context.close()


def sign_in(page, email, password):
    page.goto("/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/flows/")


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def fill_inspector(page, values: dict) -> None:
    """Type or choose each value in the inspector's field (CSS selector → value), then wait
    until the form says it saved them."""
    from playwright.sync_api import expect

    for selector, value in values.items():
        field = page.locator(selector)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
        field.dispatch_event("change")
    expect(page.locator("#save-status")).to_have_text("Saved.")
