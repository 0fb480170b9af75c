"""Templates: Auth0's call syntax and helpers, ??, undefined warnings, limits, escaping, JSON."""

import hashlib
import json
import re
import string
import time
import uuid

import pytest
from liquid import Environment

from flows_app import templating
from flows_app.templating import (
    FUNCTIONS,
    TemplateError,
    TemplateProblem,
    check_template,
    referenced_variables,
    render_html,
    render_json,
    render_text,
    render_value,
)

INJECTION = 'Bob", "admin": true, "x": "'


def scope(**extra):
    """A run's scope: one user, a form, shared variables and one earlier step."""
    return {
        "context": {
            "user": {
                "user_id": "auth0|123",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "app_metadata": {"plan": "gold", "seats": 3},
                "identities": [{"provider": "auth0"}, {"provider": "google-oauth2"}],
            },
            "tenant": {"name": "acme"},
        },
        "fields": {"nickname": "ada", "empty": "", "zero": 0, "off": False, "nothing": None},
        "vars": {
            "count": 3,
            "ratio": 2.5,
            "whole": 2.0,
            "numbers": [1, 2, 3],
            "ones": [1],
            "words": ["a", "b"],
            "more_words": ["c"],
            "obj": {"a": 1},
            "other_obj": {"a": 2, "b": 3},
            "unreserved": string.ascii_letters + string.digits + "-_.!~*'()",
            "reserved": ' /?#&=+$,;:@"<>%é',
        },
        "actions": {"get_user": {"email": "ada@example.com", "logins": 7}},
        **extra,
    }


def text(source, **extra):
    return render_text(source, scope(**extra)).value


def value(expression, **extra):
    return render_value(f"{{{{ {expression} }}}}", scope(**extra)).value


# --- Auth0's call syntax -------------------------------------------------------------------------


def test_it_encodes_a_user_id_the_way_auth0_documents():
    source = "/api/v2/users/{{ functions.encodeURIComponent(context.user.user_id) }}"

    assert text(source) == "/api/v2/users/auth0%7C123"


def test_a_call_takes_literals_variables_and_nested_calls():
    assert text("{{ functions.replace('a-b', '-', '+') }}") == "a+b"
    assert text("{{ functions.toString(vars.count) }}") == "3"
    assert text("{{ functions.toString(functions.length(context.user.name)) }}") == "12"
    assert text("{{ functions.merge(functions.split('a,b', ','), vars.more_words) }}") == (
        '["a","b","c"]'
    )
    assert text("{{ functions.includes((1..5), 4) }}") == "true"
    assert text("{{ functions.toString(vars['count']) }}{{ functions.uuid() | size }}") == "336"


def test_filters_follow_a_call():
    assert text("{{ functions.toString(context.user.user_id) | upcase }}") == "AUTH0|123"
    assert text("{{ functions.split('a,b', ',') | join: ' & ' | append: '!' }}") == "a & b!"


def test_calls_work_in_assign_echo_conditions_and_filter_arguments():
    source = (
        "{% assign id = functions.encodeURIComponent(context.user.user_id) %}{{ id }} "
        "{% if functions.includes(vars.words, 'z') %}z{% elsif functions.length(vars.words) "
        "== 2 %}two{% endif %} "
        "{% unless functions.toBoolean('false') %}off{% endunless %} "
        "{{ 'id:' | append: functions.md5('x') | truncate: 8, '' }} "
        "{% liquid\necho functions.toString(vars.count)\n%}"
    )

    assert text(source) == "auth0%7C123 two off id:9dd4e 3"


def test_a_for_loop_takes_the_result_of_a_call_through_assign():
    source = (
        "{% assign parts = functions.split('x;y', ';') %}{% for p in parts %}[{{ p }}]{% endfor %}"
    )

    assert text(source) == "[x][y]"


def test_call_syntax_is_parsed_not_rewritten_in_the_text():
    assert text("{{ 'functions.toString(1)' }} functions.uuid()") == (
        "functions.toString(1) functions.uuid()"
    )
    assert text("{{ functions.slice('a..b', 1) }}") == "..b"


def test_an_unknown_function_is_an_error_naming_it():
    with pytest.raises(TemplateError) as caught:
        text("{{ functions.toUpper(context.user.name) }}")

    assert caught.value.problem == TemplateProblem("unknown function 'functions.toUpper'", 1, 4)


def test_calls_are_checked_when_parsed():
    assert [p.message for p in check_template("{{ functions.slice('abc') }}")] == [
        "functions.slice: missing a required argument: 'start'"
    ]
    assert [p.message for p in check_template("{{ functions.uuid(1) }}")] == [
        "functions.uuid: too many positional arguments"
    ]
    assert [p.message for p in check_template("{{ functions.now }}")] == [
        "'functions.now' is a function: call it as functions.now(...)"
    ]
    assert [p.message for p in check_template("{{ context.user(1) }}")] == [
        "only functions.* can be called, not 'context.user'"
    ]


def test_a_helper_given_an_argument_it_cannot_use_is_an_error_at_its_call():
    with pytest.raises(TemplateError) as caught:
        text("Hi\n  {{ functions.slice(vars.count, 1) }}")

    assert caught.value.problem == TemplateProblem(
        "functions.slice: expected a string or an array, got a number", 2, 6
    )


# --- The nullish operator ------------------------------------------------------------------------


def test_nullish_takes_the_left_side_when_it_is_defined_and_not_null():
    assert text("{{ fields.nickname ?? 'none' }}") == "ada"
    assert value("fields.zero ?? 1") == 0
    assert value("fields.empty ?? 'x'") == ""
    assert value("fields.off ?? true") is False


def test_a_keyword_after_a_dot_is_a_property_name():
    words = {"empty": "e", "and": "a", "contains": "c", "nil": "n"}

    assert (
        text(
            "{{ vars.w.empty }}{{ vars.w.and }}{{ vars.w.contains }}{{ vars.w.nil }}",
            vars={"w": words},
        )
        == "eacn"
    )


def test_nullish_falls_back_on_undefined_or_null_and_chains():
    assert text("{{ fields.missing ?? fields.nothing ?? context.user.name }}") == "Ada Lovelace"
    assert text("{{ fields.missing??'x' }}") == "x"
    assert text("{{ fields.missing ?? fields.nothing | default: 'z' }}") == "z"


def test_nullish_warns_only_about_its_last_operand():
    assert render_text("{{ fields.a ?? fields.b }}", scope()).warnings == ["fields.b is undefined"]
    assert render_text("{{ fields.a ?? 'x' }}", scope()).warnings == []


def test_nullish_works_in_conditions_and_call_arguments():
    assert text("{% if fields.missing ?? vars.count > 2 %}yes{% endif %}") == "yes"
    assert text("{{ functions.toString(fields.missing ?? 'fallback') }}") == "fallback"


# --- The helpers ---------------------------------------------------------------------------------


def test_the_helpers_are_the_ones_auth0_documents():
    assert set(FUNCTIONS) == {
        "toArray", "toBoolean", "length", "mask", "toNumber", "random", "slice", "substring",
        "toString", "toTimestamp", "replace", "replaceAll", "split", "now", "includes",
        "indexOf", "merge", "md5", "sha1", "sha256", "sha512", "uuid", "encodeURIComponent",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("functions.toArray(vars.numbers)", [1, 2, 3]),
        ("functions.toArray('a')", ["a"]),
        ("functions.toArray(fields.nothing)", []),
        ("functions.toBoolean(1)", True),
        ("functions.toBoolean(0)", False),
        ("functions.toBoolean('true')", True),
        ("functions.toBoolean('false')", False),
        ("functions.toBoolean(' False ')", False),
        ("functions.toBoolean('0')", False),
        ("functions.toBoolean('')", False),
        ("functions.toBoolean('yes')", True),
        ("functions.toBoolean(vars.obj)", True),
        ("functions.toBoolean(nil)", False),
        ("functions.length('abc')", 3),
        ("functions.length(vars.numbers)", 3),
        ("functions.length(vars.obj)", 1),
        ("functions.length(nil)", 0),
        ("functions.toNumber('')", 0),
        ("functions.toNumber(' 12.5 ')", 12.5),
        ("functions.toNumber('42')", 42),
        ("functions.toNumber('1e3')", 1000),
        ("functions.toNumber('0x1A')", 26),
        ("functions.toNumber('-.5')", -0.5),
        ("functions.toNumber(true)", 1),
        ("functions.toNumber('abc')", None),
        ("functions.toNumber('12px')", None),
        ("functions.toNumber('1_000')", None),
        ("functions.toNumber('Infinity')", None),
        ("functions.toNumber(nil)", None),
        ("functions.slice('abcdef', 1, 3)", "bc"),
        ("functions.slice('abcdef', -2)", "ef"),
        ("functions.slice('abcdef', -3, -1)", "de"),
        ("functions.slice('abcdef', 3, 1)", ""),
        ("functions.slice('abcdef', 1.9)", "bcdef"),
        ("functions.slice(vars.numbers, 1)", [2, 3]),
        ("functions.slice(vars.numbers, -1)", [3]),
        ("functions.substring('abcdef', 3, 1)", "bc"),
        ("functions.substring('abcdef', -2)", "abcdef"),
        ("functions.substring('abcdef', -5, 2)", "ab"),
        ("functions.substring('abcdef', 4, 100)", "ef"),
        ("functions.toString(12)", "12"),
        ("functions.toString(vars.whole)", "2"),
        ("functions.toString(vars.ratio)", "2.5"),
        ("functions.toString(true)", "true"),
        ("functions.toString(vars.obj)", '{"a":1}'),
        ("functions.toString(nil)", ""),
        ("functions.replace('a.b.c', '.', '-')", "a-b.c"),
        ("functions.replaceAll('a.b.c', '.', '-')", "a-b-c"),
        ("functions.replaceAll('abc', '', '-')", "-a-b-c-"),
        ("functions.split('a,b,c', ',')", ["a", "b", "c"]),
        ("functions.split('a,b,c', ',', 2)", ["a", "b"]),
        ("functions.split('abc', '')", ["a", "b", "c"]),
        ("functions.split('abc')", ["abc"]),
        ("functions.includes(vars.numbers, 2)", True),
        ("functions.includes(vars.numbers, '2')", False),
        ("functions.includes(vars.ones, true)", False),
        ("functions.includes(vars.numbers, 1, -1)", False),
        ("functions.includes(vars.numbers, 3, -1)", True),
        ("functions.includes('hello', 'ell')", True),
        ("functions.includes('hello', 'h', 1)", False),
        ("functions.indexOf(vars.numbers, 3)", 2),
        ("functions.indexOf(vars.numbers, 9)", -1),
        ("functions.indexOf(vars.numbers, 2, -2)", 1),
        ("functions.indexOf('hello', 'l')", 2),
        ("functions.indexOf('hello', 'l', 3)", 3),
        ("functions.indexOf('abc', '', 10)", 3),
        ("functions.merge(vars.words, vars.more_words)", ["a", "b", "c"]),
        ("functions.merge(vars.obj, vars.other_obj)", {"a": 2, "b": 3}),
        ("functions.merge('ab', 'cd')", "abcd"),
        ("functions.md5('abc')", hashlib.md5(b"abc").hexdigest()),
        ("functions.sha1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("functions.sha256('abc')", hashlib.sha256(b"abc").hexdigest()),
        ("functions.sha512('abc')", hashlib.sha512(b"abc").hexdigest()),
        ("functions.encodeURIComponent(vars.unreserved)", scope()["vars"]["unreserved"]),
        (
            "functions.encodeURIComponent(vars.reserved)",
            "%20%2F%3F%23%26%3D%2B%24%2C%3B%3A%40%22%3C%3E%25%C3%A9",
        ),
        ("functions.mask('s3cret')", "s3cret"),
    ],
)
def test_each_helper_answers_as_javascript_would(expression, expected):
    result = value(expression)

    assert result == expected
    assert type(result) is type(expected)


def test_random_is_inclusive_and_whole_unless_asked_for_a_float():
    whole = {value("functions.random(1, 3)") for _ in range(300)}
    floats = [value("functions.random(1, 2, true)") for _ in range(50)]

    assert whole == {1, 2, 3}
    assert all(isinstance(number, float) and 1 <= number <= 2 for number in floats)
    assert value("functions.random(5, 5)") == 5


def test_uuid_is_a_fresh_random_v4():
    first, second = value("functions.uuid()"), value("functions.uuid()")

    assert uuid.UUID(first).version == 4
    assert first != second


def test_now_is_iso_8601_with_milliseconds_and_z():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value("functions.now()"))


def test_to_timestamp_gives_unix_seconds_of_now_or_of_a_date():
    assert abs(value("functions.toTimestamp()") - time.time()) < 2
    assert value("functions.toTimestamp('2024-01-01T00:00:00.000Z')") == 1704067200
    assert value("functions.toTimestamp('2024-01-01')") == 1704067200
    assert value("functions.toTimestamp('2024-01-01T02:00:00+02:00')") == 1704067200
    assert value("functions.toTimestamp('Mon, 01 Jan 2024 00:00:00 GMT')") == 1704067200
    assert value("functions.toTimestamp(1704067200000)") == 1704067200
    assert value("functions.toTimestamp('soon')") is None


def test_a_masked_value_is_used_as_is_and_recorded_for_redaction():
    rendered = render_text("Bearer {{ functions.mask(actions.get_user.email) }}", scope())

    assert rendered.value == "Bearer ada@example.com"
    assert rendered.masked == {"ada@example.com"}


def test_masking_an_object_records_it_and_what_is_inside():
    rendered = render_value("{{ functions.mask(context.user.app_metadata) }}", scope())

    assert rendered.value == {"plan": "gold", "seats": 3}
    assert rendered.masked == {'{"plan":"gold","seats":3}', "gold", "3"}


def test_masking_nothing_records_nothing():
    assert render_text("{{ functions.mask(fields.nothing) }}", scope()).masked == set()


# --- Syntax errors and undefined variables -------------------------------------------------------


def test_a_syntax_error_reports_message_line_and_column():
    with pytest.raises(TemplateError) as caught:
        render_text("Hello\n{{ x } }}", scope())

    assert caught.value.problem == TemplateProblem("unexpected '}'", line=2, column=6)
    assert str(caught.value) == "unexpected '}' (line 2, column 6)"


def test_check_template_lists_every_problem_without_rendering():
    source = "{{ context.user.name | }}\n{% if %}{% endif %}\n{{ x | no_such_filter }}"

    assert check_template(source) == [
        TemplateProblem("expected word, found end of expression", 1, 23),
        TemplateProblem("missing expression", 2, 4),
        TemplateProblem("unknown filter 'no_such_filter'", 3, 8),
    ]


def test_check_template_passes_a_good_template_and_does_not_render_it():
    assert check_template("{% for i in (1..100000000) %}{{ nobody.knows }}{% endfor %}") == []


def test_an_unclosed_block_points_at_its_opening_tag():
    assert check_template("{% if fields.a %}\nyes") == [
        TemplateProblem("missing {% endif %}", 1, 4)
    ]


def test_undefined_variables_render_empty_and_are_warned_about_once_in_order():
    rendered = render_text(
        "{{ context.user.nmae }}|{{ fields.nope }}|{{ context.user.nmae }}", scope()
    )

    assert rendered.value == "||"
    assert rendered.warnings == ["context.user.nmae is undefined", "fields.nope is undefined"]


def test_an_undefined_variable_is_none_as_a_value():
    rendered = render_value("{{ context.user.nmae }}", scope())

    assert rendered.value is None
    assert rendered.warnings == ["context.user.nmae is undefined"]


def test_the_output_of_a_step_that_has_not_run_is_undefined():
    rendered = render_text("{{ actions.send_mail.id }}{{ actions.get_user.logins }}", scope())

    assert rendered.value == "7"
    assert rendered.warnings == ["actions.send_mail.id is undefined"]


def test_undefined_variables_never_raise():
    source = (
        "{{ fields.a | upcase | append: fields.b }}{% if fields.c > 3 %}x{% endif %}"
        "{% for i in fields.d %}{{ i }}{% endfor %}{{ functions.slice(fields.e, 1) }}"
        "{{ functions.encodeURIComponent(fields.f) }}{{ fields.g.h.i[0] }}"
    )

    rendered = render_text(source, scope())

    assert rendered.value == ""
    assert len(rendered.warnings) == 7


# --- Resource limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        ("{% for i in (1..100000000) %}x{% endfor %}", "loop iteration limit"),
        (
            "{% for i in (1..10000) %}{% for j in (1..10000) %}{% endfor %}{% endfor %}",
            "loop iteration limit",
        ),
        ("{{ (1..100000000) | join: ',' }}", "range too long"),
        (
            "{% assign s = 'xx' %}{% for i in (1..100) %}"
            "{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}",
            "output stream limit",
        ),
        (
            "{% assign s = 'xx' %}{% for i in (1..100) %}"
            "{% assign s = s | append: s %}{% endfor %}",
            "local namespace limit",
        ),
        (
            "{% for i in (1..100) %}{% for j in (1..100) %}"
            "{{ vars.unreserved }}{{ vars.unreserved }}{% endfor %}{% endfor %}",
            "output stream limit",
        ),
        (
            "{% assign s = 'x' %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}"
            "{{ s | replace: '', s }}",
            "characters long",
        ),
        (
            "{% assign s = 'x' %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}"
            "{{ functions.replaceAll(s, '', s) }}",
            "characters long",
        ),
    ],
)
def test_runaway_templates_stop_at_their_own_limit_before_the_time_limit(source, limit):
    # Each stops with the message of the limit it hits (loop count, output size…); had that
    # limit not held, the render time limit would have stopped it with another message.
    with pytest.raises(TemplateError, match=limit):
        render_text(source, scope())


def test_a_render_that_computes_too_long_stops(monkeypatch):
    monkeypatch.setattr(templating, "RENDER_CPU_SECONDS", 0.05)
    source = (
        "{% assign s = 'x' %}{% for i in (1..18) %}{% assign s = s | append: s %}{% endfor %}"
        "{% for i in (1..9000) %}{% assign h = functions.sha512(s) %}{% endfor %}"
    )
    with pytest.raises(TemplateError, match="render time limit"):
        render_text(source, scope())


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' | upcase }}",
        "{{ functions.sha256('x') }}",
        "{% if 'a' == 'a' %}{{ 'b' | append: 'c' }}{% endif %}",
    ],
)
def test_time_is_checked_at_every_filter_and_function_call(monkeypatch, source):
    """Between two checks only one filter or function may work: no long overshoot."""
    monkeypatch.setattr(templating, "RENDER_CPU_SECONDS", 0)

    with pytest.raises(TemplateError, match="render time limit reached: 0 seconds of CPU"):
        render_text(source, {})


def test_a_number_too_long_to_write_is_an_error_not_a_crash():
    source = "{% assign n = 10 %}{% for i in (1..13) %}{% assign n = n | times: n %}{% endfor %}"

    with pytest.raises(TemplateError, match="integer string conversion"):
        render_text(source + "{{ n }}", scope())


def test_a_loop_within_the_limits_runs():
    assert len(text("{% for i in (1..10000) %}x{% endfor %}")) == 10_000


# --- Caching -------------------------------------------------------------------------------------


def test_a_template_is_parsed_once_for_any_number_of_renders(monkeypatch):
    parses = []
    original_parse = Environment._parse

    def counting_parse(env, source):
        parses.append(source)
        return original_parse(env, source)

    monkeypatch.setattr(Environment, "_parse", counting_parse)
    source = f"Hello {{{{ context.user.name }}}} ({uuid.uuid4()})"

    renders = [render_text(source, scope()).value for _ in range(5)]

    assert parses == [source]
    assert renders == [renders[0]] * 5


# --- HTML ----------------------------------------------------------------------------------------


def test_html_escapes_every_output_but_not_the_template_itself():
    user = {"name": "<script>alert(1)</script>", "email": "a&b@example.com"}
    source = '<p class="x">Hi <b>{{ context.user.name }}</b> ({{ context.user.email }})</p>'

    rendered = render_html(source, {"context": {"user": user}})

    assert rendered.value == (
        '<p class="x">Hi <b>&lt;script&gt;alert(1)&lt;/script&gt;</b> (a&amp;b@example.com)</p>'
    )


def test_html_escapes_custom_variables_filters_and_helper_results():
    custom_vars = {"greeting": "<i>hi</i>"}
    source = (
        "{{ custom_vars.greeting }}|{{ custom_vars.greeting | upcase }}|"
        "{{ functions.toString(custom_vars.greeting) }}|{{ '<br>' }}"
    )

    rendered = render_html(source, {"custom_vars": custom_vars})

    assert rendered.value == (
        "&lt;i&gt;hi&lt;/i&gt;|&lt;I&gt;HI&lt;/I&gt;|&lt;i&gt;hi&lt;/i&gt;|<br>"
    )


def test_a_value_that_looks_like_a_template_is_not_rendered_again():
    rendered = render_text("{{ fields.bio }}", scope(fields={"bio": "{{ context.user.user_id }}"}))

    assert rendered.value == "{{ context.user.user_id }}"


def test_text_does_not_escape():
    assert render_text("{{ name }}", {"name": "<b>"}).value == "<b>"


# --- Values and JSON -----------------------------------------------------------------------------


def test_a_lone_expression_keeps_its_type():
    assert render_value("{{ context.user.app_metadata }}", scope()).value == {
        "plan": "gold",
        "seats": 3,
    }
    assert render_value("  {{ vars.count }}\n", scope()).value == 3
    assert render_value("{{ vars.ratio }}", scope()).value == 2.5
    assert render_value("{{ fields.off }}", scope()).value is False
    assert render_value("{{ fields.nothing }}", scope()).value is None
    assert render_value("{{ vars.words }}", scope()).value == ["a", "b"]
    assert render_value("{{ (1..3) }}", scope()).value == [1, 2, 3]


def test_anything_else_renders_as_text():
    assert render_value("Hello {{ fields.nickname }}", scope()).value == "Hello ada"
    assert render_value("{{ vars.count }}{{ vars.count }}", scope()).value == "33"
    assert render_value("{{ vars.count }} ", scope()).value == 3
    assert render_value("plain", scope()).value == "plain"


def test_json_is_rendered_leaf_by_leaf_keeping_types():
    data = {
        "user_id": "{{ context.user.user_id }}",
        "{{ fields.nickname }}_seats": "{{ context.user.app_metadata.seats }}",
        "app_metadata": "{{ context.user.app_metadata }}",
        "note": "Hello {{ context.user.name }}",
        "tags": ["{{ vars.count }}", 7, True, None],
        "missing": "{{ context.user.nmae }}",
    }

    rendered = render_json(data, scope())

    assert rendered.value == {
        "user_id": "auth0|123",
        "ada_seats": 3,
        "app_metadata": {"plan": "gold", "seats": 3},
        "note": "Hello Ada Lovelace",
        "tags": [3, 7, True, None],
        "missing": None,
    }
    assert rendered.warnings == ["context.user.nmae is undefined"]


def test_a_json_injection_attempt_stays_one_string_value():
    data = {"name": "{{ context.user.name }}", "role": "user"}

    rendered = render_json(data, scope(context={"user": {"name": INJECTION}}))

    assert rendered.value == {"name": INJECTION, "role": "user"}
    assert json.loads(json.dumps(rendered.value)) == {"name": INJECTION, "role": "user"}


def test_json_collects_masks_from_every_leaf():
    data = {"a": "{{ functions.mask(context.user.email) }}", "b": ["{{ functions.mask('k') }}"]}

    assert render_json(data, scope()).masked == {"ada@example.com", "k"}


# --- Variables a template reads ------------------------------------------------------------------


def test_referenced_variables_lists_the_paths_read_from_the_scope():
    source = (
        "{{ functions.encodeURIComponent(context.user.user_id) }}"
        "{% assign mail = actions.get_user.email %}{{ mail }}"
        "{% for identity in context.user.identities %}{{ identity.provider }}{% endfor %}"
        "{% if fields.a ?? vars.b %}{{ custom_vars.c | append: vars.d }}{% endif %}"
    )

    assert referenced_variables(source) == {
        "context.user.user_id",
        "actions.get_user.email",
        "context.user.identities",
        "fields.a",
        "vars.b",
        "custom_vars.c",
        "vars.d",
    }


def test_referenced_variables_of_a_broken_template_is_empty():
    assert referenced_variables("{{ functions.nope() }}") == set()
