"""The editor's draft operations and live previews, without a browser."""

import pytest

from flows_app.actions import ACTION_TYPES
from flows_app.drafts import (
    DraftError,
    can_shift,
    duplicate_step,
    insert_step,
    move_step,
    references_to,
    remove_step,
    rename_step,
    shift_step,
    step_ids,
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


# --- If/then branches ------------------------------------------------------------------

CONDITION = ACTION_TYPES["FLOW/BOOLEAN_CONDITION"]
STORE_VARS = ACTION_TYPES["FLOW/STORE_VARS"]


def condition(step_id, then=(), otherwise=(), **params):
    return {
        "id": step_id,
        "type": "FLOW",
        "action": "BOOLEAN_CONDITION",
        "params": {
            "if": {"operator": "AND", "operands": []},
            "then": list(then),
            "else": list(otherwise),
            **params,
        },
    }


def tree(definition):
    """Ids as nested tuples: a condition is (id, [then ids], [else ids])."""

    def shape(steps):
        return [
            (s["id"], shape(s["params"]["then"]), shape(s["params"]["else"]))
            if s["action"] == "BOOLEAN_CONDITION"
            else s["id"]
            for s in steps
        ]

    return shape(definition["actions"])


@pytest.fixture
def branched():
    """a, if1 (then: t1, if2 (then: -, else: e2), else: e1), z"""
    return flow_of(
        step("a", "GET_USER"),
        condition(
            "if1",
            then=[step("t1", "GET_USER"), condition("if2", otherwise=[step("e2", "SEND_SMS")])],
            otherwise=[step("e1", "SEND_SMS")],
        ),
        step("z", "MAKE_CALL"),
    )


def test_a_new_condition_starts_with_an_empty_condition_and_empty_branches():
    definition, new_id = insert_step(flow_of(), CONDITION, 0)
    assert new_id.startswith("boolean_condition_")
    assert definition["actions"][0]["params"] == {
        "if": {"operator": "AND", "operands": []},
        "then": [],
        "else": [],
    }


def test_steps_are_inserted_into_a_branch_at_any_depth(branched):
    definition, first = insert_step(branched, STORE_VARS, 0, parent="if1", branch="then")
    definition, deep = insert_step(definition, STORE_VARS, 99, parent="if2", branch="then")
    assert tree(definition) == [
        "a",
        ("if1", [first, "t1", ("if2", [deep], ["e2"])], ["e1"]),
        "z",
    ]
    assert tree(branched)[1] == ("if1", ["t1", ("if2", [], ["e2"])], ["e1"])


def test_an_imported_condition_without_an_else_list_gets_one_when_a_step_goes_there():
    imported = flow_of(
        {"id": "c", "type": "FLOW", "action": "BOOLEAN_CONDITION", "params": {"then": []}}
    )
    definition, new_id = insert_step(imported, STORE_VARS, 0, parent="c", branch="else")
    assert definition["actions"][0]["params"] == {"then": [], "else": [stored_vars(new_id)]}


def stored_vars(step_id):
    return {"id": step_id, "type": "FLOW", "action": "STORE_VARS", "params": {}}


@pytest.mark.parametrize(
    "parent, branch, message",
    [
        ("nope", "then", "There is no step 'nope'"),
        ("a", "then", "The step 'a' has no branch 'then'."),
        ("if1", "otherwise", "The step 'if1' has no branch 'otherwise'."),
        ("if1", None, "The step 'if1' has no branch None."),
    ],
)
def test_a_place_that_is_not_a_branch_is_refused(branched, parent, branch, message):
    with pytest.raises(DraftError, match=message):
        insert_step(branched, STORE_VARS, 0, parent=parent, branch=branch)


def test_steps_move_into_out_of_and_between_branches(branched):
    into = move_step(branched, "a", 1, parent="if2", branch="then")
    assert tree(into) == [("if1", ["t1", ("if2", ["a"], ["e2"])], ["e1"]), "z"]
    between = move_step(branched, "t1", 0, parent="if1", branch="else")
    assert tree(between) == ["a", ("if1", [("if2", [], ["e2"])], ["t1", "e1"]), "z"]
    out = move_step(branched, "e2", 3)
    assert tree(out) == ["a", ("if1", ["t1", ("if2", [], [])], ["e1"]), "z", "e2"]
    within = move_step(branched, "if2", 0, parent="if1", branch="then")
    assert tree(within)[1] == ("if1", [("if2", [], ["e2"]), "t1"], ["e1"])


def test_a_condition_moves_with_its_branches(branched):
    moved = move_step(branched, "if1", 0)
    assert tree(moved) == [("if1", ["t1", ("if2", [], ["e2"])], ["e1"]), "a", "z"]


@pytest.mark.parametrize(("parent", "branch"), [("if1", "then"), ("if1", "else"), ("if2", "else")])
def test_a_condition_cannot_move_into_its_own_branches(branched, parent, branch):
    with pytest.raises(DraftError, match="cannot move into its own branches"):
        move_step(branched, "if1", 0, parent=parent, branch=branch)


def test_branches_nest_only_as_deep_as_the_limit():
    from flows_app.definition import DEPTH_LIMIT, validate

    definition, parent = flow_of(), None
    for _ in range(DEPTH_LIMIT):
        definition, parent = insert_step(definition, CONDITION, 0, parent, parent and "then")
    # New conditions are empty; their nesting is within the limit.
    assert {problem.input for problem in validate(definition)} == {"Condition"}
    with pytest.raises(DraftError, match=f"nests at most {DEPTH_LIMIT} deep"):
        insert_step(definition, CONDITION, 0, parent=parent, branch="then")
    definition, plain = insert_step(definition, STORE_VARS, 0, parent=parent, branch="then")
    assert plain in str(definition)
    definition, outer = insert_step(definition, CONDITION, 99)
    with pytest.raises(DraftError, match="nests at most"):
        move_step(definition, outer, 0, parent=parent, branch="else")


@pytest.mark.parametrize(
    ("step_id", "direction", "expected"),
    [
        # Down from before an If/then goes to the top of its Then.
        ("a", "down", [("if1", ["a", "t1", ("if2", [], ["e2"])], ["e1"]), "z"]),
        # Down within a branch swaps, and goes into a nested If/then.
        ("t1", "down", ["a", ("if1", [("if2", ["t1"], ["e2"])], ["e1"]), "z"]),
        # Down from the end of Then goes to the top of Else.
        ("if2", "down", ["a", ("if1", ["t1"], [("if2", [], ["e2"]), "e1"]), "z"]),
        # Down from the end of Else goes out, after the If/then.
        ("e1", "down", ["a", ("if1", ["t1", ("if2", [], ["e2"])], []), "e1", "z"]),
        ("e2", "down", ["a", ("if1", ["t1", ("if2", [], []), "e2"], ["e1"]), "z"]),
        # Up from after an If/then goes to the end of its Else.
        ("z", "up", ["a", ("if1", ["t1", ("if2", [], ["e2"])], ["e1", "z"])]),
        # Up from the top of Else goes to the end of Then.
        ("e1", "up", ["a", ("if1", ["t1", ("if2", [], ["e2"]), "e1"], []), "z"]),
        # Up from the top of Then goes out, before the If/then.
        ("t1", "up", ["a", "t1", ("if1", [("if2", [], ["e2"])], ["e1"]), "z"]),
        # Up from an empty Then's If/then's Else lands in that empty Then.
        ("e2", "up", ["a", ("if1", ["t1", ("if2", ["e2"], [])], ["e1"]), "z"]),
        # The flow's first and last steps stay.
        ("a", "up", ["a", ("if1", ["t1", ("if2", [], ["e2"])], ["e1"]), "z"]),
        ("z", "down", ["a", ("if1", ["t1", ("if2", [], ["e2"])], ["e1"]), "z"]),
    ],
)
def test_up_and_down_reach_every_place(branched, step_id, direction, expected):
    assert tree(shift_step(branched, step_id, direction)) == expected


def test_pressing_down_again_and_again_walks_a_step_through_the_whole_tree(branched):
    from flows_app.definition import find

    definition, places = move_step(branched, "a", 0), []
    while can_shift(find(definition, "a"), "down"):
        definition = shift_step(definition, "a", "down")
        placed = find(definition, "a")
        places.append((placed.parent, placed.branch, placed.index))
    assert places == [
        ("if1", "then", 0),
        ("if1", "then", 1),
        ("if2", "then", 0),
        ("if2", "else", 0),
        ("if2", "else", 1),
        ("if1", "then", 2),
        ("if1", "else", 0),
        ("if1", "else", 1),
        (None, None, 1),
        (None, None, 2),
    ]
    while can_shift(find(definition, "a"), "up"):
        definition = shift_step(definition, "a", "up")
    assert tree(definition) == tree(branched)


def test_removing_a_condition_removes_its_branches(branched):
    assert tree(remove_step(branched, "if1")) == ["a", "z"]
    assert tree(remove_step(branched, "e2")) == ["a", ("if1", ["t1", ("if2", [], [])], ["e1"]), "z"]


def test_a_duplicated_condition_gets_new_ids_all_the_way_down(branched):
    from flows_app.definition import all_steps, inside, validate

    branched["actions"][1]["params"]["then"][1]["params"]["else"][0]["params"]["message"] = (
        "{{ actions.t1.name }} {{ actions.a.name }} {{ actions.if1.result }}"
    )
    definition, twin_id = duplicate_step(branched, "if1")
    ids_after = [s["id"] for s in all_steps(definition)]
    assert len(ids_after) == len(set(ids_after)) == 7 + 5
    twin = definition["actions"][2]
    assert twin["id"] == twin_id and twin_id.startswith("boolean_condition_")
    copied = {s["id"]: s for s in inside(twin)}
    assert not set(copied) & {"t1", "if2", "e2", "e1"}
    new_t1 = twin["params"]["then"][0]["id"]
    message = twin["params"]["then"][1]["params"]["else"][0]["params"]["message"]
    assert message == f"{{{{ actions.{new_t1}.name }}}} {{{{ actions.a.name }}}} " + (
        f"{{{{ actions.{twin_id}.result }}}}"
    )
    assert definition["actions"][1] == branched["actions"][1]
    assert not [p for p in validate(definition) if "id" in p.message]


def test_a_step_inside_a_branch_is_duplicated_in_its_branch(branched):
    definition, twin = duplicate_step(branched, "e2")
    assert tree(definition)[1] == ("if1", ["t1", ("if2", [], ["e2", twin])], ["e1"])


def test_updating_a_condition_keeps_its_branches_and_a_nested_step_can_be_updated(branched):
    definition = update_step(
        branched, "if1", alias="Is it Ada?", params={"if": {"operator": "OR", "operands": []}}
    )
    condition_step = definition["actions"][1]
    assert condition_step["alias"] == "Is it Ada?"
    assert condition_step["params"]["if"] == {"operator": "OR", "operands": []}
    assert tree(definition) == tree(branched)
    emptied = update_step(branched, "if1", alias=None, params={"then": [], "else": []})
    assert tree(emptied)[1] == ("if1", [], [])
    deep = update_step(branched, "e2", alias="Text them", params={"to": "+1555"})
    assert deep["actions"][1]["params"]["then"][1]["params"]["else"][0]["alias"] == "Text them"


def test_renaming_rewrites_references_inside_branches(branched):
    inner = branched["actions"][1]["params"]
    inner["if"] = {"operator": "EQUALS", "operands": ["{{ actions.a.email }}", "x"]}
    inner["then"][0]["params"]["user_id"] = "{{ actions.a.user_id }}"
    inner["then"][1]["params"]["else"][0]["params"]["to"] = "{{ actions.a.phone }}"
    branched["actions"][2]["params"]["to"] = "{{ actions.e2.x }}"
    assert references_to(branched, "a") == ["if1", "t1", "e2"]
    assert references_to(branched, "e2") == ["z"]
    renamed, count = rename_step(branched, "a", "user")
    assert count == 3
    assert references_to(renamed, "user") == ["if1", "t1", "e2"]
    assert references_to(renamed, "a") == []
    deep, _ = rename_step(branched, "e2", "text")
    assert tree(deep)[1] == ("if1", ["t1", ("if2", [], ["text"])], ["e1"])
    assert deep["actions"][2]["params"]["to"] == "{{ actions.text.x }}"
    with pytest.raises(DraftError, match="Another step already has the id 'e1'"):
        rename_step(branched, "a", "e1")


def test_a_condition_is_not_read_by_the_steps_in_its_branches_unless_they_say_so(branched):
    assert references_to(branched, "if1") == []
    assert step_ids(branched) == {"a", "if1", "t1", "if2", "e2", "e1", "z"}
