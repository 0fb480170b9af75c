"""Creating, importing, exporting, renaming, duplicating and deleting flows from the pages."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flows_app.models import Flow, Run
from flows_app.services import create_flow
from tests.flow_helpers import connection, step
from tests.vault_helpers import AUTH0_SECRET


@pytest.fixture
def tenant(db):
    return connection(
        "auth0",
        "Acme tenant",
        {"domain": "acme.us.auth0.com", "client_id": "cid", "client_secret": AUTH0_SECRET},
    )


@pytest.fixture
def flow(tenant, editor_user):
    return create_flow(
        name="Welcome",
        owner=editor_user,
        definition={
            "schema_version": 1,
            "actions": [
                step(
                    "get_user",
                    "GET_USER",
                    connection_id=tenant.pk,
                    user_id="{{ context.user.user_id }}",
                )
            ],
        },
        test_data={"context": {"user": {"user_id": "auth0|1"}}},
    )


def test_an_editor_creates_a_flow_and_lands_in_it(editor_client, editor_user):
    response = editor_client.post("/flows/new/", {"name": "  Onboarding  "})
    flow = Flow.objects.get()
    assert flow.name == "Onboarding" and flow.owner == editor_user
    assert response["Location"] in (f"/flows/{flow.pk}/edit/", f"/flows/{flow.pk}/")


def test_export_downloads_json_without_secrets_and_import_brings_it_back(editor_client, flow):
    response = editor_client.get(f"/flows/{flow.pk}/export/")
    assert response["Content-Disposition"] == 'attachment; filename="welcome.json"'
    text = response.content.decode()
    assert AUTH0_SECRET not in text and '"connection_id": "Acme tenant"' in text
    upload = SimpleUploadedFile("welcome.json", response.content, "application/json")
    response = editor_client.post("/flows/import/", {"uploads": upload})
    imported = Flow.objects.exclude(pk=flow.pk).get()
    assert response["Location"] == f"/flows/{imported.pk}/"
    assert imported.draft == flow.draft and imported.test_data == flow.test_data


def test_a_pasted_import_with_problems_imports_nothing_and_keeps_the_text(editor_client, db):
    text = json.dumps(
        {
            "name": "Broken",
            "actions": [
                {
                    "id": "x",
                    "type": "AUTH0",
                    "action": "GET_USER",
                    "params": {"connection_id": "Nope", "user_id": "1"},
                }
            ],
        }
    )
    response = editor_client.post("/flows/import/", {"text": text})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Nothing was imported" in html
    assert "The vault has no auth0 connection named &#x27;Nope&#x27;" in html
    assert "&quot;Broken&quot;" in html
    assert not Flow.objects.exists()


def test_an_import_that_is_not_json_says_where(editor_client, db):
    response = editor_client.post("/flows/import/", {"text": '{"name": "x",}'})
    assert response.status_code == 422
    assert b"The pasted text is not JSON" in response.content and b"line 1" in response.content


def test_rename_duplicate_and_delete(editor_client, flow):
    editor_client.post(f"/flows/{flow.pk}/rename/", {"name": "Welcome users", "description": "Hi"})
    flow.refresh_from_db()
    assert (flow.name, flow.description) == ("Welcome users", "Hi")
    editor_client.post(f"/flows/{flow.pk}/duplicate/")
    copy = Flow.objects.exclude(pk=flow.pk).get()
    assert copy.name == "Welcome users (copy)" and copy.draft == flow.draft
    Run.objects.create(flow=flow, definition=flow.draft, trigger=Run.Trigger.TEST)
    page = editor_client.get(f"/flows/{flow.pk}/delete/")
    assert b"its 1 run will be removed for good" in page.content
    editor_client.post(f"/flows/{flow.pk}/delete/")
    assert list(Flow.objects.values_list("name", flat=True)) == ["Welcome users (copy)"]
    assert not Run.objects.exists()


def test_viewers_read_and_export_but_change_nothing(viewer_client, flow):
    assert viewer_client.get(f"/flows/{flow.pk}/export/").status_code == 200
    for url in (
        "/flows/new/",
        "/flows/import/",
        f"/flows/{flow.pk}/rename/",
        f"/flows/{flow.pk}/duplicate/",
        f"/flows/{flow.pk}/delete/",
    ):
        assert viewer_client.post(url, {"name": "x"}).status_code == 403, url
    assert list(Flow.objects.values_list("name", flat=True)) == ["Welcome"]
    assert b"New flow" not in viewer_client.get("/flows/").content


def test_every_flow_form_needs_the_csrf_token(csrf_admin_client, flow):
    for url in (
        "/flows/new/",
        "/flows/import/",
        f"/flows/{flow.pk}/rename/",
        f"/flows/{flow.pk}/duplicate/",
        f"/flows/{flow.pk}/delete/",
    ):
        assert csrf_admin_client.post(url, {"name": "x"}).status_code == 403, url
    assert Flow.objects.count() == 1
