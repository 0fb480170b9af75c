"""Hostile imports in a real browser: the import page says what is wrong and keeps the form."""

import json
import re

import pytest
from playwright.sync_api import expect

from flows_app.models import Flow
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.test_import_limits import nested_branches, sized_flow

pytestmark = pytest.mark.browser


def open_import(page_factory, user, width):
    page = page_factory(width=width)
    sign_in(page, user.email, PASSWORD)
    page.goto("/flows/import/")
    return page


@pytest.mark.parametrize("width", [1280, 390])
def test_a_file_too_big_to_import_gets_the_page_with_a_clear_message(
    page_factory, editor_user, width
):
    page = open_import(page_factory, editor_user, width)
    big = json.dumps(sized_flow(3)).encode()
    page.get_by_label(re.compile("Flow files")).set_input_files(
        {"name": "big.json", "mimeType": "application/json", "buffer": big}
    )
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_text("The flows to import are larger than 1 MB together.")).to_be_visible()
    expect(page.get_by_role("button", name="Import")).to_be_visible()
    screenshot(page, f"import-too-large-{width}")
    assert not Flow.objects.exists()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_pasted_flow_nested_too_deep_is_named_and_kept(page_factory, editor_user, width):
    page = open_import(page_factory, editor_user, width)
    text = json.dumps({"name": "Deep", "actions": nested_branches(200)})
    page.get_by_label(re.compile("paste JSON")).fill(text)
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_text("If/then nests at most 20 deep.")).to_be_visible()
    kept = page.get_by_label(re.compile("paste JSON")).input_value()
    assert json.loads(kept) == json.loads(text)
    screenshot(page, f"import-too-deep-{width}")
    assert not Flow.objects.exists()
