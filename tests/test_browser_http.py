"""In a real browser: build a flow whose HTTP request (with a vault connection) answers
JSON that a later step reads, run it as a test, see the later step's preview use the
answer, and read both steps on the run page; at 1280 and 390 px wide."""

import json

import pytest
from playwright.sync_api import expect

from flows_app.models import Flow, Run
from flows_app.services import create_flow
from tests.browser import fill_inspector, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.http_helpers import BEARER_TOKEN, http_connection
from tests.test_browser_branches import saved
from tests.test_browser_scenario import inspect
from tests.workers import wait_until

pytestmark = pytest.mark.browser
DATA = {"fields": {"invite": "X1-77"}}


def steps():
    return [(s["action"], s["id"]) for s in Flow.objects.get().draft["actions"]]


def test_an_http_answer_feeds_a_later_step(page_factory, admin_user, api_standin):
    api_standin.answer("GET", "/invites/X1-77", 200, {"valid": True, "plan": "pro"})
    partner = http_connection(api_standin, "BEARER")
    flow = create_flow(name="Invite check", owner=admin_user, test_data=DATA)
    page = page_factory(width=1280, height=1200)
    sign_in(page, admin_user.email, PASSWORD)
    page.goto(f"/flows/{flow.pk}/edit/")

    for label in ("HTTP request", "Create JSON object"):  # the palette's buttons add at the end
        with saved(page, r"/edit/add/$"):
            page.get_by_role("button", name=f"Add {label}", exact=True).click()
    (_, call), (_, build) = steps()

    inspect(page, call)
    expect(page.locator("#in-method")).to_have_value("POST")  # as Auth0's dashboard starts
    fill_inspector(
        page,
        {
            "#in-connection_id": str(partner.pk),
            "#in-url": api_standin.url("/invites/{{ fields.invite }}"),
            "#in-method": "GET",
        },
    )
    expect(page.locator("#preview-url")).to_contain_text(api_standin.url("/invites/X1-77"))
    inspect(page, build)
    fill_inspector(
        page,
        {"#in-object": json.dumps({"plan": f"{{{{ actions.{call}.body.plan }}}}", "ok": True})},
    )
    expect(page.locator("#canvas .has-problems")).to_have_count(0)

    before = set(Run.objects.values_list("pk", flat=True))
    page.get_by_role("button", name="Run test").click()
    assert wait_until(lambda: Run.objects.exclude(pk__in=before).exists(), timeout=10)
    [run] = Run.objects.exclude(pk__in=before)
    expect(page.locator("#test-run .run-status-line")).to_contain_text("Succeeded")
    run.refresh_from_db()
    assert run.steps.get(step_id=build).output == {"result": {"plan": "pro", "ok": True}}
    assert api_standin.requests[0].bearer == BEARER_TOKEN

    # The later step's preview now reads the request's answer from that test run.
    page.reload()
    inspect(page, build)
    expect(page.locator("#preview-object")).to_contain_text('"plan": "pro"')
    screenshot(page, "http-editor-1280")

    page.goto(f"/runs/{run.pk}/")
    expect(page.locator(".run-status-line")).to_contain_text("Succeeded")
    expect(page.locator(f"#step-{run.pk}-{call}")).to_contain_text('"valid": true')
    expect(page.locator(f"#step-{run.pk}-{build}")).to_contain_text('"plan": "pro"')
    assert BEARER_TOKEN not in page.content()
    screenshot(page, "http-run-1280")

    narrow = page_factory(width=390, height=900)
    sign_in(narrow, admin_user.email, PASSWORD)
    narrow.goto(f"/flows/{flow.pk}/edit/?step={call}")
    expect(narrow.locator("#in-url")).to_have_value(api_standin.url("/invites/{{ fields.invite }}"))
    screenshot(narrow, "http-editor-390")
    narrow.goto(f"/runs/{run.pk}/")
    expect(narrow.locator(".run-status-line")).to_contain_text("Succeeded")
    screenshot(narrow, "http-run-390")


def test_the_vault_form_shows_only_the_chosen_setup_s_fields(page_factory, admin_user):
    page = page_factory(width=390, height=1000)
    sign_in(page, admin_user.email, PASSWORD)
    page.goto("/vault/new/?kind=http")
    expect(page.locator("#id_token")).to_be_visible()
    expect(page.locator("#id_client_id")).to_be_hidden()
    page.get_by_label("Setup").select_option("OAUTH_CLIENT_CREDENTIALS")
    expect(page.locator("#id_client_id")).to_be_visible()
    expect(page.locator("#id_token_endpoint")).to_be_visible()
    expect(page.locator("#id_token")).to_be_hidden()
    screenshot(page, "http-vault-oauth-390")
    page.locator("#id_name").fill("Partner API")
    page.locator("#id_hosts").fill("api.partner.example")
    page.locator("#id_client_id").fill("client-1")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    expect(page.locator("#id_client_id")).to_have_value("client-1")  # nothing typed is lost
    expect(page.locator("#id_client_id")).to_be_visible()
