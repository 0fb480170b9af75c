"""The flow document: validation that names the step and input, export and import."""

import pytest

from flows_app.definition import validate
from flows_app.models import ConnectionUse
from flows_app.services import (
    InvalidFlow,
    create_flow,
    problems_of,
    publish_flow,
    save_draft,
)
from tests.flow_helpers import SPEC_PATH, connection, step
from tests.vault_helpers import AUTH0_SECRET


@pytest.fixture
def tenant(db):
    return connection(
        "auth0",
        "Acme tenant",
        {"domain": "acme.us.auth0.com", "client_id": "cid", "client_secret": AUTH0_SECRET},
    )


def flow_of(*steps):
    return {"schema_version": 1, "actions": list(steps)}


def messages(problems):
    return [str(p) for p in problems]


def test_a_flow_with_every_action_is_valid(tenant):
    definition = flow_of(
        step(
            "create",
            "CREATE_USER",
            connection_id=tenant.pk,
            payload={"connection": "Username-Password-Authentication", "email": "x@y.z"},
        ),
        step("get_user", "GET_USER", connection_id=tenant.pk, user_id="{{ context.user.user_id }}"),
        step(
            "update",
            "UPDATE_USER",
            connection_id=tenant.pk,
            user_id="{{ actions.get_user.user_id }}",
            changes={"app_metadata": {"plan": "{{ fields.plan }}"}},
        ),
        step(
            "custom",
            "SEND_REQUEST",
            connection_id=tenant.pk,
            pathname=SPEC_PATH,
            method="GET",
            headers={"X-Trace": "{{ vars.trace }}"},
            params={"fields": "email"},
        ),
        step(
            "mail",
            "SEND_EMAIL",
            to="{{ actions.get_user.email }}",
            subject="Hi",
            body="<p>Hello {{ custom_vars.name }}</p>",
            custom_vars={"name": "{{ context.user.name }}"},
            **{"from": {"email": "team@example.com", "name": "Team"}},
        ),
        step("text", "SEND_SMS", to="+14155550100", message="Code {{ vars.code }}"),
        step("call", "MAKE_CALL", to="+14155550100", message="Hello"),
    )
    assert problems_of(definition) == []


def test_problems_name_the_step_and_the_input(tenant):
    definition = flow_of(
        step("get_user", "GET_USER", connection_id=tenant.pk),
        step("get_user", "GET_USER", connection_id=999, user_id="{{ context.user.user_id"),
        step(
            "custom", "SEND_REQUEST", connection_id=tenant.pk, pathname="/api/v2/x", method="TRACE"
        ),
        step("1bad", "SEND_SMS", to="+1", message="x" * 1025),
    )
    found = messages(problems_of(definition))
    assert "get_user · User ID: Required." in found
    assert "get_user: Another step already has the id 'get_user'." in found
    assert "get_user · Connection: The auth0 connection 999 does not exist in the vault." in found
    assert any(m.startswith("get_user · User ID: ") and "line 1" in m for m in found)
    assert "custom · Method: Choose one of GET, POST, PUT, PATCH, DELETE." in found
    assert any(m.startswith("1bad: The step id must start with a letter") for m in found)
    assert "1bad · Message: At most 1024 characters (1025 now)." in found


def test_a_reference_to_a_later_step_is_a_problem(tenant):
    definition = flow_of(
        step("first", "GET_USER", connection_id=tenant.pk, user_id="{{ actions.second.user_id }}"),
        step("second", "GET_USER", connection_id=tenant.pk, user_id="x"),
    )
    assert messages(problems_of(definition)) == [
        "first · User ID: actions.second.user_id refers to a step that does not run before "
        "this one."
    ]


def test_unknown_actions_and_keys_are_problems():
    definition = flow_of(
        {"id": "x", "type": "AUTH0", "action": "DELETE_TENANT", "params": {}},
        {
            "id": "y",
            "type": "AUTH0",
            "action": "SEND_SMS",
            "colour": "red",
            "params": {"to": "+1", "message": "m", "cc": "+2"},
        },
    )
    found = messages(validate(definition))
    assert any(
        m.startswith("x: Sluice does not support AUTH0/DELETE_TENANT yet: the step is kept")
        for m in found
    )
    assert "y: Unknown key 'colour' in the step (Auth0 would reject it)." in found
    assert "y: Send SMS has no input 'cc'." in found


def test_a_draft_with_problems_cannot_be_published(tenant):
    flow = create_flow(
        name="Broken", definition=flow_of(step("g", "GET_USER", connection_id=tenant.pk))
    )
    with pytest.raises(InvalidFlow) as caught:
        publish_flow(flow)
    assert "g · User ID: Required." in str(caught.value)
    assert not flow.versions.exists()


def test_publishing_freezes_numbered_versions(tenant):
    flow = create_flow(
        name="Good",
        definition=flow_of(
            step("g", "GET_USER", connection_id=tenant.pk, user_id="{{ context.user.user_id }}")
        ),
    )
    first = publish_flow(flow)
    flow.draft["actions"][0]["params"]["user_id"] = "changed"
    flow.save()
    second = publish_flow(flow)
    assert (first.number, second.number) == (1, 2)
    first.refresh_from_db()
    assert first.definition["actions"][0]["params"]["user_id"] == "{{ context.user.user_id }}"


def test_saving_records_which_connections_a_flow_uses(tenant):
    flow = create_flow(
        name="Uses", definition=flow_of(step("g", "GET_USER", connection_id=tenant.pk, user_id="x"))
    )
    assert list(ConnectionUse.objects.values_list("flow__name", "connection__name")) == [
        ("Uses", "Acme tenant")
    ]
    save_draft(flow, flow_of())
    assert not ConnectionUse.objects.exists()


def test_a_variable_outside_the_namespaces_is_undefined(tenant):
    definition = flow_of(
        step(
            "text",
            "SEND_SMS",
            to="{{ user.phone_number }}",
            message="{% assign n = vars.n %}{{ n }} {{ custom_vars.code }}",
        ),
        step("get", "GET_USER", connection_id=tenant.pk, user_id="{{ custom_vars.id }}"),
    )
    assert messages(problems_of(definition)) == [
        "text · To: user.phone_number is undefined: variables start with actions, context, "
        "fields, vars.",
        "get · User ID: custom_vars.id is undefined: variables start with actions, context, "
        "fields, vars.",
    ]


def custom_request(tenant, path):
    return step("call", "SEND_REQUEST", connection_id=tenant.pk, method="GET", pathname=path)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("https://evil.test/api/v2/users", "not a URL or another host"),
        ("https://evil.test/{{ context.user.user_id }}", "not a URL or another host"),
        ("//evil.test/api/v2/users", "not a URL or another host"),
        ("/api/v2/users?q={{ fields.q }}", "put query parameters in URL Params"),
        ("/api/v2/../{{ fields.x }}", "may not contain . or .. segments"),
        ("/api/v2/{{ fields.x }}/../keys", "may not contain . or .. segments"),
        ("/api/v2//{{ fields.x }}", "empty segment"),
        ("/api/v2/users list/{{ fields.x }}", "whitespace"),
        ("/oauth/{{ fields.x }}", "under /api/v2/"),
        ("/api/v2/users/%2F", "encoded /"),
    ],
)
def test_a_path_that_can_never_be_sent_is_a_problem_of_the_step(tenant, path, says):
    problems = messages(validate(flow_of(custom_request(tenant, path))))

    assert len(problems) == 1 and problems[0].startswith("call · Path: "), problems
    assert says in problems[0]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/organizations",
        SPEC_PATH,
        "/api/v{{ fields.version }}/users",
        "{{ fields.base }}/users",
        "/api/v2/users/{{ fields.a }}..{{ fields.b }}",
        "/api/v2/ {{- fields.x }}",
        "{% if fields.x %}/api/v2/a{% else %}/api/v2/b{% endif %}",
    ],
)
def test_a_templated_path_that_could_be_sent_is_allowed(tenant, path):
    assert validate(flow_of(custom_request(tenant, path))) == []


def test_a_path_to_another_host_blocks_publishing_and_importing(tenant):
    from flows_app import interop

    flow = create_flow(
        name="Leak", definition=flow_of(custom_request(tenant, "https://evil.test/x"))
    )
    with pytest.raises(InvalidFlow, match="call · Path: Enter a path on the connection's own"):
        publish_flow(flow)

    document = interop.export_document(flow)
    with pytest.raises(interop.ImportFailed, match="not a URL or another host"):
        interop.import_documents([("leak.json", document)])
