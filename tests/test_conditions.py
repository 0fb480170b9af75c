"""The If/then comparison rules, operator by operator and type by type, as the README states."""

import pytest

from flows_app.actions.logic import BOOLEAN_CONDITION
from flows_app.conditions import UNDEFINED, compare, evaluate, shape_problems
from flows_app.inputs import render_input

# (operator, left, right, expected)
CASES = [
    # numbers compare as numbers, also when written as text
    ("EQUALS", 42, 42, True),
    ("EQUALS", 42, "42", True),
    ("EQUALS", "42.0", 42, True),
    ("EQUALS", "042", "42", True),
    ("EQUALS", 1.5, "1.50", True),
    ("EQUALS", 42, "forty-two", False),
    ("GREATER_THAN", 10, 9, True),
    ("GREATER_THAN", "10", "9", True),  # as numbers, not as text ("10" < "9")
    ("GREATER_THAN", "-1", "-2", True),
    ("LESS_THAN", 2, "10", True),
    ("LESS_THAN", 10, 10, False),
    ("GREATER_THAN", "1e3", 999, True),
    # strings compare as text, case-sensitively
    ("EQUALS", "pro", "pro", True),
    ("EQUALS", "Pro", "pro", False),
    ("NOT_EQUALS", "Pro", "pro", True),
    ("GREATER_THAN", "b", "a", True),
    ("LESS_THAN", "2026-01-01", "2026-11-25", True),  # ISO dates order as text
    ("GREATER_THAN", "b", 1, True),  # mixed: as text, "b" > "1"
    ("CONTAINS", "hello world", "lo w", True),
    ("CONTAINS", "Hello", "hello", False),
    ("NOT_CONTAINS", "hello", "x", True),
    ("STARTS_WITH", "auth0|123", "auth0|", True),
    ("STARTS_WITH", "google|1", "auth0|", False),
    ("ENDS_WITH", "ada@example.com", "@example.com", True),
    ("ENDS_WITH", 12345, 45, True),  # numbers as text
    # booleans
    ("EQUALS", True, "true", True),
    ("EQUALS", False, "false", True),
    ("EQUALS", True, "True", False),
    ("EQUALS", True, 1, False),
    ("NOT_EQUALS", False, True, True),
    # lists and objects
    ("CONTAINS", ["admin", "editor"], "admin", True),
    ("CONTAINS", [1, 2, 3], "2", True),
    ("CONTAINS", ["admin"], "adm", False),
    ("NOT_CONTAINS", ["admin"], "viewer", True),
    ("CONTAINS", {"plan": "pro"}, "plan", True),
    ("CONTAINS", {"plan": "pro"}, "pro", False),
    ("EQUALS", {"a": 1}, {"a": 1}, True),
    ("EQUALS", [1, 2], [1, 2], True),
    ("GREATER_THAN", [2], [1], False),
    # undefined and null
    ("EQUALS", UNDEFINED, None, True),
    ("EQUALS", None, None, True),
    ("EQUALS", UNDEFINED, "", False),
    ("EQUALS", None, "null", False),
    ("EQUALS", None, 0, False),
    ("NOT_EQUALS", UNDEFINED, "pro", True),
    ("CONTAINS", UNDEFINED, "a", False),
    ("NOT_CONTAINS", UNDEFINED, "a", True),
    ("STARTS_WITH", None, "", False),
    ("GREATER_THAN", UNDEFINED, 0, False),
    ("LESS_THAN", UNDEFINED, 0, False),
    ("GREATER_THAN", 1, None, False),
]


@pytest.mark.parametrize("operator, left, right, expected", CASES)
def test_comparison_rules(operator, left, right, expected):
    assert compare(operator, left, right) is expected


@pytest.mark.parametrize(
    "value, empty, exists",
    [
        (UNDEFINED, True, False),
        (None, True, False),
        ("", True, True),
        ([], True, True),
        ({}, True, True),
        (" ", False, True),
        (0, False, True),
        (False, False, True),
        ("pro", False, True),
        ([0], False, True),
    ],
)
def test_emptiness_and_existence(value, empty, exists):
    assert compare("IS_EMPTY", value) is empty
    assert compare("IS_NOT_EMPTY", value) is not empty
    assert compare("EXISTS", value) is exists
    assert compare("NOT_EXISTS", value) is not exists


def leaf(operator, *operands):
    return {"operator": operator, "operands": list(operands)}


def rendered(condition, scope):
    return render_input(BOOLEAN_CONDITION.inputs[0], condition, scope).value


def test_operands_are_templates_and_a_lone_expression_keeps_its_type():
    scope = {"vars": {"count": 10, "plan": "pro"}, "actions": {}}
    condition = {
        "operator": "AND",
        "operands": [
            leaf("GREATER_THAN", "{{ vars.count }}", "9"),
            leaf("EQUALS", "plan={{ vars.plan }}", "plan=pro"),
            leaf("NOT_EXISTS", "{{ actions.get_user.app_metadata.plan }}"),
        ],
    }
    result = rendered(condition, scope)
    assert result["operands"][0] == {
        "operator": "GREATER_THAN",
        "operands": [10, "9"],
        "defined": [True, True],
    }
    assert result["operands"][2]["defined"] == [False]
    evaluation = evaluate(result)
    assert evaluation.result is True
    assert [check["result"] for check in evaluation.checks] == [True, True, True]


def test_groups_nest_and_every_leaf_is_recorded_even_after_the_outcome_is_known():
    condition = {
        "operator": "OR",
        "operands": [
            leaf("EQUALS", "{{ vars.plan }}", "pro"),
            {
                "operator": "AND",
                "operands": [
                    leaf("EXISTS", "{{ vars.email }}"),
                    leaf("ENDS_WITH", "{{ vars.email }}", "@example.com"),
                ],
            },
        ],
    }
    pro = evaluate(rendered(condition, {"vars": {"plan": "pro"}}))
    assert pro.result is True and len(pro.checks) == 3
    by_mail = evaluate(rendered(condition, {"vars": {"plan": "free", "email": "a@example.com"}}))
    assert by_mail.result is True
    neither = evaluate(rendered(condition, {"vars": {"plan": "free", "email": "a@other.org"}}))
    assert neither.result is False
    assert [c["result"] for c in neither.checks] == [False, True, False]


def test_empty_groups():
    assert evaluate({"operator": "AND", "operands": []}).result is True
    assert evaluate({"operator": "OR", "operands": []}).result is False


@pytest.mark.parametrize(
    "condition, problem",
    [
        ({"op": "EQUALS"}, "kept as it was"),
        ({"operator": "LIKE", "operands": ["a", "b"]}, "Unknown operator 'LIKE'"),
        (leaf("EQUALS", "a"), "equals takes 2 values"),
        (leaf("IS_EMPTY", "a", "b"), "is empty takes 1 value"),
        (leaf("EQUALS", "a", {"x": 1}), "a value is text"),
        ({"operator": "AND", "operands": "x"}, "operands must be a list"),
    ],
)
def test_shapes_sluice_cannot_evaluate_are_named(condition, problem):
    assert any(problem in message for message in shape_problems(condition))


def test_nesting_depth_is_bounded():
    condition = leaf("EXISTS", "x")
    for _ in range(12):
        condition = {"operator": "AND", "operands": [condition]}
    assert any("at most" in message for message in shape_problems(condition))
