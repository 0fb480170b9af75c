"""Pulling a tenant's flows in a real browser: choose the connection, tick a flow, import."""

import re

import pytest
from playwright.sync_api import expect

from flows_app.models import Flow
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.test_tenant import (  # noqa: F401  (fixtures)
    _no_memo_between_tests,
    acme,
    flows_api,
    onboarding_actions,
    tenant_acme,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_staff_pull_a_flow_from_the_tenant(
    page_factory,
    admin_user,
    acme,  # noqa: F811  (the fixture imported above)
    flows_api,  # noqa: F811
    tenant_acme,  # noqa: F811
    width,
):
    onboarding = flows_api.add_flow("Onboarding", onboarding_actions(tenant_acme["id"]))
    flows_api.add_flow("Left alone")
    page = page_factory(width=width)
    sign_in(page, admin_user.email, PASSWORD)
    page.get_by_role("link", name=re.compile("Pull from Auth0")).click()
    page.get_by_label(re.compile("connection", re.I)).first.select_option(str(acme.pk))
    page.get_by_role("button", name=re.compile("Show|List|Open|Read", re.I)).first.click()
    expect(page.get_by_text(onboarding["id"])).to_be_visible()
    expect(page.get_by_text("Left alone")).to_be_visible()
    page.get_by_role("checkbox", name=re.compile("Onboarding")).check()
    page.get_by_role("button", name="Import the ticked flows as drafts").click()
    expect(
        page.get_by_text(re.compile(r"Imported Onboarding \(id \d+\) with 2 step"))
    ).to_be_visible()
    screenshot(page, f"pull-{width}")
    flow = Flow.objects.get()
    assert flow.auth0_id == onboarding["id"]
    width_ok = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert width_ok, "the page scrolls sideways"
