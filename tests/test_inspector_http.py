"""The editor with HTTP, JSON and XML steps: the palette offers them, a new HTTP request
starts as Auth0's dashboard does (POST, JSON), the inspector stores every param, a JSON
input takes a lone expression as text, validation speaks of wrong types, and the preview
warns when Basic Auth and a connection are both set."""

import pytest
from django.urls import reverse

from flows_app.services import create_flow
from tests.http_helpers import data_step, http_connection, http_step

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, flow, *args):
    return reverse(name, args=[flow.pk, *args])


@pytest.fixture
def flow(db, admin_user):
    return create_flow(
        name="Partner",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                http_step("call", url="https://api.example.com/x"),
                data_step("to_text", "JSON", "SERIALIZE_JSON", object={"a": 1}),
            ],
        },
        test_data={"fields": {"email": "sam@example.com"}},
    )


def test_the_palette_offers_the_new_groups_and_a_new_request_starts_as_auth0_s(editor_client, flow):
    page = editor_client.get(url("flow_editor", flow)).content.decode()
    for label in ("HTTP request", "Create JSON object", "Convert XML to JSON"):
        assert label in page
    editor_client.post(url("editor_add", flow), {"action": "HTTP/SEND_REQUEST"}, **HTMX)
    flow.refresh_from_db()
    added = flow.draft["actions"][-1]
    assert added["type"] == "HTTP" and added["params"] == {"method": "POST", "content_type": "JSON"}


def test_the_inspector_stores_every_param_of_an_http_request(editor_client, flow, api_standin):
    partner = http_connection(api_standin, "BEARER")
    response = editor_client.post(
        url("editor_save", flow, "call"),
        {
            "p-connection_id": str(partner.pk),
            "p-url": "https://api.example.com/invites/verify",
            "p-method": "PUT",
            "p-content_type": "FORM",
            "p-payload": '{"email": "{{ fields.email }}"}',
            "p-headers-name": ["X-Source"],
            "p-headers-value": ["forms"],
            "p-params-name": ["v"],
            "p-params-value": ["2"],
            "p-basic-name": ["username", "password"],
            "p-basic-value": ["ann", "pw-{{ fields.email }}"],
        },
        **HTMX,
    )
    assert response.status_code == 200
    flow.refresh_from_db()
    assert flow.draft["actions"][0]["params"] == {
        "connection_id": partner.pk,
        "url": "https://api.example.com/invites/verify",
        "method": "PUT",
        "content_type": "FORM",
        "payload": {"email": "{{ fields.email }}"},
        "headers": {"X-Source": "forms"},
        "params": {"v": "2"},
        "basic": {"username": "ann", "password": "pw-{{ fields.email }}"},
    }
    inspector = editor_client.get(url("flow_editor", flow) + "?step=call").content.decode()
    assert "Basic Auth and a vault connection are both set" in inspector
    assert partner.name in inspector


def test_a_json_input_that_also_takes_text_keeps_a_lone_expression(editor_client, flow):
    save = url("editor_save", flow, "to_text")
    editor_client.post(save, {"p-object": "{{ fields }}"}, **HTMX)
    flow.refresh_from_db()
    assert flow.draft["actions"][1]["params"] == {"object": "{{ fields }}"}
    page = editor_client.get(url("flow_editor", flow) + "?step=to_text").content.decode()
    assert "{{ fields }}</textarea>" in page
    response = editor_client.post(save, {"p-object": '{"broken": '}, **HTMX)
    assert "This is not valid JSON" in response.content.decode()
    flow.refresh_from_db()
    assert flow.draft["actions"][1]["params"] == {"object": "{{ fields }}"}


def test_the_preview_shows_rendered_values(editor_client, flow):
    response = editor_client.post(
        url("editor_preview", flow, "call"),
        {"p-url": "https://api.example.com/u/{{ fields.email }}", "p-method": "POST"},
        **HTMX,
    )
    assert "https://api.example.com/u/sam@example.com" in response.content.decode()


def test_wrong_types_are_problems_on_save(db):
    flow = create_flow(
        name="Typed",
        definition={
            "schema_version": 1,
            "actions": [
                http_step("call", url="https://x.example", basic={"user": "a"}, method="TRACE"),
                data_step("make", "JSON", "CREATE_JSON", object="{{ fields }}"),
                data_step("parse", "XML", "PARSE_XML", xml={"not": "text"}),
            ],
        },
    )
    from flows_app.services import problems_of

    problems = {str(p) for p in problems_of(flow.draft)}
    assert "call · Basic Auth: 'user': Basic Auth has only a username and a password." in problems
    assert "call · Method: Choose one of GET, POST, PUT, PATCH, DELETE." in problems
    assert "make · Body: Must be a JSON object." in problems
    assert "parse · XML string: Must be text." in problems
