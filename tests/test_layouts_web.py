"""The deploy CLI layouts as zip downloads from a flow's page and from the Flows page."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from flows_app import layouts
from flows_app.models import Flow
from flows_app.services import create_flow
from tests.browser import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.test_layouts import CORPUS, tiered_flow, tree
from tests.vault_helpers import AUTH0_SECRET


def unzipped(response) -> dict[str, bytes]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def kyc(db):
    call_command(
        "flows", "import", "--placeholders", str(CORPUS / "directory"), stdout=io.StringIO()
    )
    return Flow.objects.get(name="Update KYC Name")


@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_a_viewer_downloads_a_flow_as_the_deploy_cli_writes_it(viewer_client, kyc, layout):
    response = viewer_client.get(f"/flows/{kyc.pk}/export/zip/?layout={layout}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    disposition = f'attachment; filename="update-kyc-name.deploy-cli-{layout}.zip"'
    assert response["Content-Disposition"] == disposition
    files = unzipped(response)
    assert files == tree(CORPUS / layout)


def test_the_flows_page_zip_holds_every_flow_and_no_secret(
    viewer_client, kyc, auth0_standin, tmp_path
):
    from tests.flow_helpers import auth0_connection

    auth0_connection(auth0_standin)
    tiered_flow()
    response = viewer_client.get("/flows/export/zip/?layout=yaml")
    assert response["Content-Disposition"] == 'attachment; filename="flows.deploy-cli-yaml.zip"'
    files = unzipped(response)
    call_command(
        "flows", "export", "--all", "--layout", "yaml", str(tmp_path), stdout=io.StringIO()
    )
    assert files == tree(tmp_path)
    assert [name for name in files if name.startswith("flows/")] == [
        "flows/Refunds- EU-UK- Check the order, map the tier and tell the customer service "
        "team.json",
        "flows/Update KYC Name.json",
    ]
    assert all(AUTH0_SECRET.encode() not in text for text in files.values())
    again = unzipped(viewer_client.get("/flows/export/zip/?layout=yaml"))
    assert again == files


def test_the_same_export_downloads_the_same_bytes(viewer_client, kyc):
    first = viewer_client.get(f"/flows/{kyc.pk}/export/zip/?layout=directory").content
    second = viewer_client.get(f"/flows/{kyc.pk}/export/zip/?layout=directory").content
    assert first == second


def test_an_unknown_layout_is_a_clear_400(viewer_client, kyc):
    response = viewer_client.get(f"/flows/{kyc.pk}/export/zip/?layout=terraform")
    assert response.status_code == 400
    assert response.content == b"Unknown layout: use directory or yaml."


def test_flows_that_would_share_a_file_get_a_page_that_says_so(viewer_client, db):
    for name in ("Sign up / EU", "Sign up - EU"):
        create_flow(name=name, definition={"schema_version": 1, "actions": []})
    response = viewer_client.get("/flows/export/zip/?layout=directory")
    assert response.status_code == 422
    assert b"Two flows or connections would both be written to flows/Sign up - EU.json" in (
        response.content
    )


def test_a_download_is_bounded_in_size(viewer_client, kyc, monkeypatch):
    monkeypatch.setattr("flows_app.views.layouts.ZIP_LIMIT", 300)
    response = viewer_client.get("/flows/export/zip/?layout=directory")
    assert response.status_code == 413
    assert b"more than 300 bytes" in response.content
    assert b"manage.py flows export --all --layout directory DIR" in response.content


def test_a_download_needs_signing_in(client, kyc):
    response = client.get(f"/flows/{kyc.pk}/export/zip/?layout=yaml")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_pages_link_to_the_downloads(viewer_client, kyc):
    page = viewer_client.get(f"/flows/{kyc.pk}/").content.decode()
    assert f'href="/flows/{kyc.pk}/export/zip/?layout=directory"' in page
    assert f'href="/flows/{kyc.pk}/export/zip/?layout=yaml"' in page
    listing = viewer_client.get("/flows/").content.decode()
    assert 'href="/flows/export/zip/?layout=directory"' in listing
    assert 'href="/flows/export/zip/?layout=yaml"' in listing


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_downloading_a_flows_zip_in_a_browser(page_factory, editor_user, kyc, tmp_path, width):
    page = page_factory(width=width)
    sign_in(page, editor_user.email, PASSWORD)
    with page.expect_download() as listed:
        page.get_by_role("link", name="YAML (.zip)").click()
    assert listed.value.suggested_filename == "flows.deploy-cli-yaml.zip"
    screenshot(page, f"flows-export-{width}")
    page.get_by_role("link", name="Update KYC Name").click()
    expect(page.get_by_role("link", name=re.compile("Deploy CLI directory"))).to_be_visible()
    with page.expect_download() as single:
        page.get_by_role("link", name="Deploy CLI directory (.zip)").click()
    saved = Path(tmp_path / "flow.zip")
    single.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == sorted(tree(CORPUS / "directory"))
    screenshot(page, f"flow-export-{width}")
    width_ok = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert width_ok, "the page scrolls sideways"
