"""The editor's draft operations and live previews, without a browser."""

import pytest

from flows_app.actions import ACTION_TYPES
from flows_app.drafts import (
    DraftError,
    duplicate_step,
    insert_step,
    move_step,
    references_to,
    remove_step,
    rename_step,
    update_step,
)
from flows_app.models import Run, StepRun
from flows_app.preview import preview_step, scope_for, sms_segments
from flows_app.services import create_flow
from tests.flow_helpers import SPEC_PATH, step

GET_USER = ACTION_TYPES["AUTH0/GET_USER"]
SEND_EMAIL = ACTION_TYPES["AUTH0/SEND_EMAIL"]
SEND_SMS = ACTION_TYPES["AUTH0/SEND_SMS"]
CUSTOM = ACTION_TYPES["AUTH0/SEND_REQUEST"]


def flow_of(*steps):
    return {"schema_version": 1, "actions": list(steps)}


def ids(definition):
    return [s["id"] for s in definition["actions"]]


def test_a_new_step_gets_an_auth0_style_id_and_its_defaults():
    definition, new_id = insert_step(flow_of(), CUSTOM, 0)
    assert new_id.startswith("send_request_") and len(new_id) == len("send_request_") + 4
    assert definition["actions"] == [
        {"id": new_id, "type": "AUTH0", "action": "SEND_REQUEST", "params": {"method": "GET"}}
    ]


def test_steps_are_inserted_moved_duplicated_and_removed_without_touching_the_original():
    original = flow_of(step("a", "GET_USER"), step("b", "SEND_SMS"), step("c", "MAKE_CALL"))
    inserted, new_id = insert_step(original, SEND_EMAIL, 1)
    assert ids(inserted) == ["a", new_id, "b", "c"]
    assert ids(move_step(inserted, "c", 0)) == ["c", "a", new_id, "b"]
    assert ids(move_step(inserted, "a", 99)) == [new_id, "b", "c", "a"]
    twin, twin_id = duplicate_step(original, "b")
    assert ids(twin) == ["a", "b", twin_id, "c"] and twin_id.startswith("send_sms_")
    assert ids(remove_step(original, "b")) == ["a", "c"]
    assert ids(original) == ["a", "b", "c"]


def test_an_unknown_step_is_a_clear_error():
    with pytest.raises(DraftError, match="There is no step 'zzz' in this flow."):
        remove_step(flow_of(step("a", "GET_USER")), "zzz")


def test_updating_a_step_sets_params_and_display_name():
    definition = update_step(
        flow_of(step("a", "GET_USER")),
        "a",
        alias="Read the user",
        params={"user_id": "{{ context.user.user_id }}"},
    )
    assert definition["actions"][0] == {
        "id": "a",
        "alias": "Read the user",
        "type": "AUTH0",
        "action": "GET_USER",
        "params": {"user_id": "{{ context.user.user_id }}"},
    }


def test_renaming_a_step_rewrites_every_reference_and_only_those():
    definition = flow_of(
        step("get_user_AbCd", "GET_USER", user_id="{{ context.user.user_id }}"),
        step(
            "mail",
            "SEND_EMAIL",
            to="{{ actions.get_user_AbCd.email }}",
            subject="{{ actions['get_user_AbCd'].name }} {{ actions.get_user_AbCdX.x }}",
            custom_vars={"plan": "{{ actions.get_user_AbCd.app_metadata.plan | upcase }}"},
            body="{% if actions.get_user_AbCd.email_verified %}ok{% endif %} "
            "actions.get_user_AbCd.email stays text",
        ),
    )
    assert references_to(definition, "get_user_AbCd") == ["mail"]
    renamed, count = rename_step(definition, "get_user_AbCd", "user")
    params = renamed["actions"][1]["params"]
    assert count == 4
    assert renamed["actions"][0]["id"] == "user"
    assert params["to"] == "{{ actions.user.email }}"
    assert params["subject"] == "{{ actions.user.name }} {{ actions.get_user_AbCdX.x }}"
    assert params["custom_vars"] == {"plan": "{{ actions.user.app_metadata.plan | upcase }}"}
    assert params["body"] == (
        "{% if actions.user.email_verified %}ok{% endif %} actions.get_user_AbCd.email stays text"
    )


@pytest.mark.parametrize(
    "new, message",
    [
        ("2fast", "An id starts with a letter"),
        ("has space", "An id starts with a letter"),
        ("b", "Another step already has the id 'b'."),
    ],
)
def test_a_bad_new_id_is_refused(new, message):
    with pytest.raises(DraftError, match=message):
        rename_step(flow_of(step("a", "GET_USER"), step("b", "GET_USER")), "a", new)


@pytest.mark.parametrize(
    "text, length, segments, encoding",
    [
        ("Hello", 5, 1, "GSM-7"),
        ("x" * 160, 160, 1, "GSM-7"),
        ("x" * 161, 161, 2, "GSM-7"),
        ("{}" * 40, 160, 1, "GSM-7"),
        ("Grüße 👋", 8, 1, "UCS-2"),
        ("é" * 71, 71, 1, "GSM-7"),
        ("ę" * 71, 71, 2, "UCS-2"),
    ],
)
def test_sms_length_and_segments(text, length, segments, encoding):
    assert sms_segments(text) == {"length": length, "segments": segments, "encoding": encoding}


def test_the_preview_renders_every_input_with_test_data_and_earlier_outputs(db):
    flow = create_flow(
        name="Preview",
        definition=flow_of(
            step("get_user", "GET_USER", user_id="{{ context.user.user_id }}"),
            step("mail", "SEND_EMAIL"),
        ),
        test_data={"context": {"user": {"user_id": "auth0|123", "name": "<Ada>"}}},
    )
    run = Run.objects.create(flow=flow, definition=flow.draft, trigger=Run.Trigger.TEST)
    StepRun.objects.create(
        run=run,
        step_id="get_user",
        action_type="AUTH0/GET_USER",
        position=0,
        status=StepRun.Status.SUCCEEDED,
        output={"email": "ada@example.com"},
    )
    scope = scope_for(flow, "mail")
    preview = preview_step(
        SEND_EMAIL,
        {
            "to": "{{ actions.get_user.email }}",
            "subject": "Hi {{ custom_vars.first }}",
            "custom_vars": {"first": "{{ context.user.name }}"},
            "body": "<p>{{ custom_vars.first }} {{ context.user.nickname }}</p>",
        },
        scope,
    )
    assert preview.inputs["to"].text == "ada@example.com"
    assert preview.inputs["subject"].text == "Hi <Ada>"
    assert preview.inputs["body"].text == "<p>&lt;Ada&gt; </p>"
    assert '"first": "<Ada>"' in preview.inputs["custom_vars"].text
    assert preview.warnings == ["context.user.nickname is undefined"]


def test_a_preview_shows_an_error_on_its_input_only():
    scope = {"context": {"user": {"user_id": "auth0|123"}}, "fields": {}, "vars": {}, "actions": {}}
    preview = preview_step(CUSTOM, {"pathname": SPEC_PATH, "headers": {"X": "{{ oops"}}, scope)
    assert preview.inputs["pathname"].text == "/api/v2/users/auth0%7C123"
    error = preview.inputs["headers"].error
    assert error.line == 1 and error.column and error.message


def test_an_sms_preview_counts_segments():
    preview = preview_step(
        SEND_SMS,
        {"message": "Code {{ vars.code }}"},
        {"vars": {"code": 1234}, "context": {}, "fields": {}, "actions": {}},
    )
    assert preview.inputs["message"].sms == {"length": 9, "segments": 1, "encoding": "GSM-7"}
