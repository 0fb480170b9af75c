"""The editor's history: Undo and Redo, with htmx and without JavaScript."""

import pytest
from django.urls import reverse

from flows_app.models import Flow
from flows_app.services import create_flow
from tests.flow_helpers import step

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def flow(db, admin_user):
    return create_flow(
        name="History",
        owner=admin_user,
        definition={"schema_version": 1, "actions": [step("get_user", "GET_USER")]},
    )


def url(name, flow, *args):
    return reverse(name, args=[flow.pk, *args])


def ids(flow) -> list[str]:
    flow.refresh_from_db()
    return [s["id"] for s in flow.draft["actions"]]


def add(client, flow, action="AUTH0/SEND_SMS"):
    client.post(url("editor_add", flow), {"action": action}, **HTMX)
    return ids(flow)[-1]


def test_redo_puts_back_what_undo_took_back(editor_client, flow):
    sms = add(editor_client, flow)
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert ids(flow) == ["get_user"]
    response = editor_client.post(url("editor_redo", flow), **HTMX)
    assert ids(flow) == ["get_user", sms]
    html = response.content.decode()
    assert 'data-focus-id="undo-button"' in html  # Redo has nothing left: it is disabled
    assert '<button type="submit" id="undo-button"' in html
    assert 'id="redo-button" class="button button-small" aria-keyshortcuts' in html
    assert 'aria-keyshortcuts="Control+Shift+Z Meta+Shift+Z" disabled>Redo' in html  # no more


def test_undo_and_redo_walk_the_history_both_ways(editor_client, flow):
    sms = add(editor_client, flow)
    api = add(editor_client, flow, "AUTH0/SEND_REQUEST")
    response = editor_client.post(url("editor_undo", flow), **HTMX)
    assert 'data-focus-id="undo-button"' in response.content.decode()
    response = editor_client.post(url("editor_undo", flow), **HTMX)
    assert 'data-focus-id="redo-button"' in response.content.decode()  # nothing left to undo
    assert ids(flow) == ["get_user"]
    response = editor_client.post(url("editor_redo", flow), **HTMX)
    assert 'data-focus-id="redo-button"' in response.content.decode()
    assert ids(flow) == ["get_user", sms]
    editor_client.post(url("editor_redo", flow), **HTMX)
    assert ids(flow) == ["get_user", sms, api]
    response = editor_client.post(url("editor_redo", flow), **HTMX)
    assert "Nothing to redo." in response.content.decode()
    assert ids(flow) == ["get_user", sms, api]


def test_a_new_edit_after_undo_leaves_nothing_to_redo(editor_client, flow):
    add(editor_client, flow)
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert Flow.objects.get().redo
    add(editor_client, flow, "AUTH0/SEND_EMAIL")
    assert Flow.objects.get().redo == []
    html = editor_client.get(url("flow_editor", flow)).content.decode()
    assert 'aria-keyshortcuts="Control+Shift+Z Meta+Shift+Z" disabled>Redo' in html


def test_redo_works_without_javascript(editor_client, flow):
    sms = add(editor_client, flow)
    editor_client.post(url("editor_undo", flow))
    page = editor_client.get(url("flow_editor", flow)).content.decode()
    assert f'action="{url("editor_redo", flow)}"' in page
    assert 'aria-keyshortcuts="Control+Shift+Z Meta+Shift+Z">Redo' in page  # enabled
    response = editor_client.post(url("editor_redo", flow), {"selected": ""})
    assert response.status_code == 302 and response["Location"] == url("flow_editor", flow)
    assert ids(flow) == ["get_user", sms]


def test_viewers_may_not_redo(viewer_client, flow):
    assert viewer_client.post(url("editor_redo", flow), **HTMX).status_code == 403


def save(client, flow, alias, *, typing="", allow_failure=False):
    data = {"alias": alias, "typing": typing}
    if allow_failure:
        data["allow_failure"] = "on"
    response = client.post(url("editor_save", flow, "get_user"), data, **HTMX)
    assert "Saved." in response.content.decode()


def first_step(flow) -> dict:
    flow.refresh_from_db()
    return flow.draft["actions"][0]


def test_typing_saved_as_it_goes_is_one_undo(editor_client, flow):
    for typed in ("Find", "Find the", "Find the user"):
        save(editor_client, flow, typed, typing="alias")
    assert first_step(flow)["alias"] == "Find the user"
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert "alias" not in first_step(flow)
    editor_client.post(url("editor_redo", flow), **HTMX)
    assert first_step(flow)["alias"] == "Find the user"


def test_typing_after_another_change_is_undone_on_its_own(editor_client, flow):
    save(editor_client, flow, "Find", typing="alias")
    save(editor_client, flow, "Find", allow_failure=True)  # a checkbox: its own change
    save(editor_client, flow, "Find it", typing="alias")
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert first_step(flow)["alias"] == "Find" and first_step(flow)["allow_failure"]
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert first_step(flow)["alias"] == "Find" and not first_step(flow).get("allow_failure")
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert "alias" not in first_step(flow)


def test_typing_after_an_undo_is_a_new_change(editor_client, flow):
    save(editor_client, flow, "Find", typing="alias")
    editor_client.post(url("editor_undo", flow), **HTMX)
    save(editor_client, flow, "Look", typing="alias")
    assert Flow.objects.get().redo == []
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert "alias" not in first_step(flow)
