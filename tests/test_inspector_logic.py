"""The inspector for If/then conditions and delays, and previews that know about branches."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from flows_app.models import Flow, Run, StepRun
from flows_app.preview import Readable, readable_steps, scope_for
from flows_app.services import create_flow
from flows_app.views.variables import Variable, variables
from tests.flow_helpers import step

HTMX = {"HTTP_HX_REQUEST": "true"}
PRO = {"context": {"user": {"user_id": "auth0|123", "plan": "pro", "logins": 7}}}
FREE = {"context": {"user": {"user_id": "auth0|123", "plan": "free", "logins": 7}}}


def logic(step_id: str, action: str, **params) -> dict:
    return {"id": step_id, "type": "FLOW", "action": action, "params": params}


def condition(step_id: str, test: dict, then=(), otherwise=()) -> dict:
    return logic(
        step_id, "BOOLEAN_CONDITION", **{"if": test, "then": [*then], "else": [*otherwise]}
    )


def leaf(operator: str, *operands) -> dict:
    return {"operator": operator, "operands": list(operands)}


IS_PRO = {"operator": "AND", "operands": [leaf("EQUALS", "{{ context.user.plan }}", "pro")]}


@pytest.fixture
def flow(db, admin_user) -> Flow:
    """get_user, check (then: welcome, else: nudge), after."""
    return create_flow(
        name="Branches",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                step("get_user", "GET_USER", user_id="{{ context.user.user_id }}"),
                condition(
                    "check",
                    IS_PRO,
                    then=[logic("welcome", "STORE_VARS", vars={"plan": "pro"})],
                    otherwise=[logic("nudge", "STORE_VARS", vars={"plan": "free"})],
                ),
                logic("after", "RETURN_JSON", payload={"ok": True}),
            ],
        },
        test_data=PRO,
    )


def url(name, flow, *args):
    return reverse(name, args=[flow.pk, *args])


def draft_step(flow, index=1) -> dict:
    flow.refresh_from_db()
    return flow.draft["actions"][index]


class FormFields(HTMLParser):
    """The name/value pairs a browser would post from the inspector's form (no JavaScript):
    text and hidden inputs and selected options, leaving out <template> contents."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.in_form = self.in_template = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "inspector-form":
            self.in_form = True
        elif tag == "template":
            self.in_template = True
        if not self.in_form or self.in_template or "name" not in attrs and tag != "option":
            return
        if tag == "input" and attrs.get("type") in ("text", "hidden", "number"):
            value = attrs.get("value") or ""
            if attrs["type"] == "text":  # a browser strips line breaks from a one-line input
                value = value.replace("\r", "").replace("\n", "")
            self.pairs.append((attrs["name"], value))
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.pairs.append((self.textarea, ""))
        elif tag == "option" and self.select and "selected" in attrs:
            self.pairs.append((self.select, attrs["value"]))

    def handle_data(self, data):
        if self.textarea:
            name, text = self.pairs.pop()
            self.pairs.append((name, text + data))

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea:
            name, text = self.pairs.pop()
            self.pairs.append((name, text.removeprefix("\n")))  # as a browser reads it
            self.textarea = None
        if tag == "template":
            self.in_template = False
        elif tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None


def posted_form(client, flow, step_id) -> dict[str, list[str]]:
    html = client.get(url("flow_editor", flow) + f"?step={step_id}").content.decode()
    parser = FormFields()
    parser.feed(html)
    form: dict[str, list[str]] = {}
    for name, value in parser.pairs:
        form.setdefault(name, []).append(value)
    return form


# --- The condition builder ----------------------------------------------------------------


def test_the_builder_posts_back_the_auth0_tree_with_nested_groups_and_unary_operators(
    editor_client, flow
):
    branches = {k: draft_step(flow)["params"][k] for k in ("then", "else")}
    response = editor_client.post(
        url("editor_save", flow, "check"),
        {
            "p-if-operator": "OR",
            "p-if-0-operator": "EQUALS",
            "p-if-0-left": "{{ context.user.plan }}",
            "p-if-0-right": "pro",
            # Index 1 was removed in the browser: indexes may have gaps.
            "p-if-2-operator": "AND",
            "p-if-2-0-operator": "IS_EMPTY",
            "p-if-2-0-left": "{{ context.user.nickname }}",
            "p-if-2-0-right": "left over from before the operator changed",
            "p-if-2-5-operator": "GREATER_THAN",
            "p-if-2-5-left": "{{ context.user.logins }}",
            "p-if-2-5-right": "3",
            "p-if-2-7-operator": "OR",
        },
        **HTMX,
    )
    assert response.status_code == 200 and "Saved." in response.content.decode()
    params = draft_step(flow)["params"]
    assert params["if"] == {
        "operator": "OR",
        "operands": [
            leaf("EQUALS", "{{ context.user.plan }}", "pro"),
            {
                "operator": "AND",
                "operands": [
                    leaf("IS_EMPTY", "{{ context.user.nickname }}"),
                    leaf("GREATER_THAN", "{{ context.user.logins }}", "3"),
                    {"operator": "OR", "operands": []},
                ],
            },
        ],
    }
    assert {k: params[k] for k in ("then", "else")} == branches


@pytest.mark.parametrize(
    "test",
    [
        IS_PRO,
        {
            "operator": "OR",
            "operands": [
                leaf("NOT_EXISTS", "{{ context.user.email }}"),
                {
                    "operator": "AND",
                    "operands": [
                        leaf("GREATER_THAN", "{{ context.user.logins }}", 5),
                        leaf("EQUALS", "{{ context.user.verified }}", True),
                        leaf("NOT_EQUALS", "{{ context.user.name }}", None),
                        {"operator": "OR", "operands": []},
                    ],
                },
            ],
        },
        leaf("STARTS_WITH", "{{ context.user.user_id }}", "auth0|"),  # a lone comparison
        leaf("CONTAINS", "{% for r in context.user.roles %}\n{{ r }}\n{% endfor %}", "admin"),
        {"operator": "AND", "operands": []},
    ],
)
def test_the_rendered_form_posts_back_exactly_the_condition_it_shows(editor_client, flow, test):
    saved = draft_step(flow)
    saved["params"]["if"] = test
    flow.draft["actions"][1] = saved
    flow.save()
    form = posted_form(editor_client, flow, "check")
    assert form["p-if-operator"]
    editor_client.post(url("editor_save", flow, "check"), form, **HTMX)
    assert draft_step(flow) == saved


def test_a_typed_value_becomes_text_once_it_is_edited(editor_client, flow):
    saved = draft_step(flow)
    saved["params"]["if"] = {"operator": "AND", "operands": [leaf("LESS_THAN", "{{ x }}", 5)]}
    flow.save()
    form = posted_form(editor_client, flow, "check")
    assert form["p-if-0-right"] == ["5"] and form["p-if-0-right-typed"] == ["5"]
    editor_client.post(url("editor_save", flow, "check"), {**form, "p-if-0-right": "6"})
    assert draft_step(flow)["params"]["if"]["operands"][0]["operands"] == ["{{ x }}", "6"]


def test_the_builder_shows_labels_and_hides_nothing_it_needs(editor_client, flow):
    html = editor_client.get(url("flow_editor", flow) + "?step=check").content.decode()
    assert 'name="p-if-0-left" value="{{ context.user.plan }}"' in html
    assert '<option value="IS_EMPTY" data-unary>is empty</option>' in html
    assert '<option value="EQUALS" selected>equals</option>' in html
    assert '<option value="AND" selected>all of</option>' in html
    assert "p-then" not in html and "p-else" not in html  # branches are not fields
    assert "<strong>Then</strong> runs welcome." in html
    assert 'data-insert-group="in-if"' in html and 'class="cond-left code"' in html
    assert "condition.js" in html and "condition.css" in html


def test_an_if_of_an_unknown_shape_is_shown_as_it_is_and_kept(editor_client, flow):
    odd = {"operator": "MATCHES", "operands": ["{{ context.user.email }}", ".*@acme"], "x": 1}
    saved = draft_step(flow)
    saved["params"]["if"] = odd
    flow.save()
    html = editor_client.get(url("flow_editor", flow) + "?step=check").content.decode()
    assert "Sluice does not know this condition" in html
    assert "&quot;operator&quot;: &quot;MATCHES&quot;" in html
    assert "p-if-operator" not in html
    form = posted_form(editor_client, flow, "check")
    response = editor_client.post(
        url("editor_save", flow, "check"), {**form, "alias": "Odd one"}, **HTMX
    )
    assert draft_step(flow)["params"]["if"] == odd
    assert draft_step(flow)["alias"] == "Odd one"
    assert "A condition is" in response.content.decode()  # the problem, on the field
    preview = editor_client.post(url("editor_preview", flow, "check"), form, **HTMX)
    assert "Sluice cannot evaluate this condition" in preview.content.decode()


def test_an_unknown_shape_can_be_replaced_with_an_empty_condition(editor_client, flow):
    saved = draft_step(flow)
    saved["params"]["if"] = ["not", "a", "condition"]
    flow.save()
    response = editor_client.post(url("editor_save", flow, "check"), {"p-if-edit": "reset"}, **HTMX)
    assert draft_step(flow)["params"]["if"] == {"operator": "AND", "operands": []}
    html = response.content.decode()
    assert 'id="inspector"' in html and 'name="p-if-operator"' in html  # the form, again


def test_without_javascript_the_buttons_add_and_remove_conditions_and_groups(editor_client, flow):
    save = url("editor_save", flow, "check")
    form = posted_form(editor_client, flow, "check")
    response = editor_client.post(save, {**form, "p-if-edit": "add-group:"})
    assert response.status_code == 302
    assert draft_step(flow)["params"]["if"]["operands"][1] == {
        "operator": "AND",
        "operands": [leaf("EQUALS", "", "")],
    }
    form = posted_form(editor_client, flow, "check")
    assert "p-if-1-0-left" in form
    editor_client.post(save, {**form, "p-if-edit": "add-leaf:1"})
    assert len(draft_step(flow)["params"]["if"]["operands"][1]["operands"]) == 2
    form = posted_form(editor_client, flow, "check")
    editor_client.post(save, {**form, "p-if-edit": "remove:0"})
    test = draft_step(flow)["params"]["if"]
    assert [node["operator"] for node in test["operands"]] == ["AND"]


def test_branches_survive_every_save_even_when_the_form_sends_them(editor_client, flow):
    before = draft_step(flow)["params"]
    editor_client.post(
        url("editor_save", flow, "check"),
        {"p-if-operator": "AND", "p-then": "[]", "p-else": "[]"},
        **HTMX,
    )
    after = draft_step(flow)["params"]
    assert after["then"] == before["then"] and after["else"] == before["else"]


def test_a_step_inside_a_branch_is_saved_in_place(editor_client, flow):
    editor_client.post(
        url("editor_save", flow, "welcome"),
        {"p-vars-name": ["plan"], "p-vars-value": ["gold"]},
        **HTMX,
    )
    assert draft_step(flow)["params"]["then"][0]["params"] == {"vars": {"plan": "gold"}}


# --- Delay -----------------------------------------------------------------------------------


@pytest.fixture
def delay(flow):
    flow.draft["actions"].append(logic("wait", "DELAY_FLOW", number=1, units="SECONDS"))
    flow.save()
    return "wait"


def test_a_delay_is_stored_as_a_whole_number_and_previewed(editor_client, flow, delay, settings):
    settings.MAX_DELAY = 30 * 86400
    html = editor_client.get(url("flow_editor", flow) + "?step=wait").content.decode()
    assert 'type="number" id="in-number" name="p-number" value="1" min="0" step="1"' in html
    assert "Waits 1 second." in html
    editor_client.post(url("editor_save", flow, delay), {"p-number": " 5 ", "p-units": "MINUTES"})
    assert draft_step(flow, 3)["params"] == {"number": 5, "units": "MINUTES"}
    preview = editor_client.post(
        url("editor_preview", flow, delay), {"p-number": "40", "p-units": "DAYS"}, **HTMX
    ).content.decode()
    assert "Waits 40 days." in preview
    assert "longer than the longest delay allowed, 30 days (SLUICE_MAX_DELAY)" in preview


@pytest.mark.parametrize("typed", ["-3", "1.5", "ten"])
def test_a_number_that_is_not_whole_is_a_field_error(editor_client, flow, delay, typed):
    response = editor_client.post(
        url("editor_save", flow, delay), {"p-number": typed, "p-units": "SECONDS"}, **HTMX
    )
    errors = response.content.decode().split('id="errors-number"')[1].split("</ul>")[0]
    assert "whole number" in errors
    html = editor_client.get(url("flow_editor", flow) + "?step=wait").content.decode()
    assert f'name="p-number" value="{typed}"' in html  # as typed, to correct it


# --- Previews -----------------------------------------------------------------------------


def preview_of(client, flow, form):
    return client.post(url("editor_preview", flow, "check"), form, **HTMX).content.decode()


def test_the_condition_preview_says_which_branch_each_test_data_takes(editor_client, flow):
    form = {
        "p-if-operator": "AND",
        "p-if-0-operator": "EQUALS",
        "p-if-0-left": "{{ context.user.plan }}",
        "p-if-0-right": "pro",
        "p-if-1-operator": "OR",
        "p-if-1-0-operator": "EXISTS",
        "p-if-1-0-left": "{{ context.user.nickname }}",
        "p-if-1-1-operator": "GREATER_THAN",
        "p-if-1-1-left": "{{ context.user.logins }}",
        "p-if-1-1-right": "3",
    }
    html = preview_of(editor_client, flow, form)
    assert "With the current test data this takes the Then branch (result: true)." in html
    assert 'id="preview-if" hx-swap-oob="true"' in html
    assert (
        '<code class="cond-value">&quot;pro&quot;</code> <span class="cond-check-label">equals'
        in html
    )
    assert '<code class="cond-value is-undefined">undefined</code>' in html  # the nickname
    assert '<code class="cond-value">7</code>' in html  # a lone {{ }} keeps its type
    assert "any of:" in html
    editor_client.post(url("editor_test_data", flow), {"test_data": '{"context": {"user": {}}}'})
    html = preview_of(editor_client, flow, form)
    assert "this takes the Else branch (result: false)." in html
    assert "context.user.plan is undefined" in html


def test_the_inspector_opens_with_the_condition_preview(editor_client, flow):
    html = editor_client.get(url("flow_editor", flow) + "?step=check").content.decode()
    assert "takes the Then branch (result: true)" in html
    flow.test_data = FREE
    flow.save()
    html = editor_client.get(url("flow_editor", flow) + "?step=check").content.decode()
    assert "takes the Else branch (result: false)" in html


def test_an_empty_condition_previews_as_true(editor_client, flow):
    html = preview_of(editor_client, flow, {"p-if-operator": "AND"})
    assert "takes the Then branch" in html and "No conditions yet" in html


def test_a_broken_operand_template_is_shown_on_the_condition(editor_client, flow):
    form = {"p-if-operator": "AND", "p-if-0-operator": "EQUALS", "p-if-0-left": "{{ oops"}
    assert "Template error:" in preview_of(editor_client, flow, form)


def last_test_run(flow, **statuses):
    run = Run.objects.create(flow=flow, definition=flow.draft, trigger=Run.Trigger.TEST)
    for position, (step_id, (status, output)) in enumerate(statuses.items()):
        StepRun.objects.create(
            run=run,
            step_id=step_id,
            action_type="FLOW/STORE_VARS",
            position=position,
            status=status,
            output=output,
        )
    return run


def test_reading_a_skipped_step_warns_that_its_branch_was_not_taken(editor_client, flow):
    last_test_run(
        flow,
        get_user=(StepRun.Status.SUCCEEDED, {"email": "ada@example.com"}),
        check=(StepRun.Status.SUCCEEDED, {"result": False}),
        welcome=(StepRun.Status.SKIPPED, None),
        nudge=(StepRun.Status.SUCCEEDED, {"plan": "free"}),
    )
    html = editor_client.post(
        url("editor_preview", flow, "after"),
        {"p-payload": '{"a": "{{ actions.welcome.plan }}", "b": "{{ actions.nudge.plan }}"}'},
        **HTMX,
    ).content.decode()
    assert (
        "actions.welcome.plan is undefined: step welcome was skipped in the last test run "
        "(its branch was not taken)"
    ) in html
    assert "&quot;b&quot;: &quot;free&quot;" in html


# --- What a step may read ---------------------------------------------------------------------


@pytest.fixture
def deep(db, admin_user) -> Flow:
    """a, c1 (then: t1, c2 (then: t2, else: e2), t3; else: e1), z"""
    inner = condition(
        "c2", IS_PRO, then=[logic("t2", "DO_NOTHING")], otherwise=[logic("e2", "DO_NOTHING")]
    )
    outer = condition(
        "c1",
        IS_PRO,
        then=[logic("t1", "DO_NOTHING"), inner, logic("t3", "DO_NOTHING")],
        otherwise=[logic("e1", "DO_NOTHING")],
    )
    definition = {
        "schema_version": 1,
        "actions": [logic("a", "DO_NOTHING"), outer, logic("z", "DO_NOTHING")],
    }
    return create_flow(name="Deep", owner=admin_user, definition=definition, test_data=PRO)


def test_a_step_reads_the_steps_that_run_before_it_and_knows_which_may_not(deep):
    then, other = ("c1", "then"), ("c2", "then")
    assert readable_steps(deep.draft, "t2") == [
        Readable("a"),
        Readable("c1"),
        Readable("t1"),
        Readable("c2"),
    ]
    assert readable_steps(deep.draft, "e1") == [Readable("a"), Readable("c1")]
    assert readable_steps(deep.draft, "t3") == [
        Readable("a"),
        Readable("c1"),
        Readable("t1"),
        Readable("c2"),
        Readable("t2", (other,)),
        Readable("e2", (("c2", "else"),)),
    ]
    after = readable_steps(deep.draft, "z")
    assert Readable("t2", (then, other)) in after and Readable("e1", (("c1", "else"),)) in after
    assert Readable("t2", (then, other)).note == "only if c1 took Then and c2 took Then"
    assert readable_steps(deep.draft, "a") == [] == readable_steps(deep.draft, "nope")


def test_the_variable_picker_of_a_step_in_a_branch(editor_client, flow):
    last_test_run(
        flow,
        get_user=(StepRun.Status.SUCCEEDED, {"email": "ada@example.com"}),
        check=(StepRun.Status.SUCCEEDED, {"result": False}),
        welcome=(StepRun.Status.SKIPPED, None),
        nudge=(StepRun.Status.SUCCEEDED, {"plan": "free"}),
    )
    inside = notes(variables(flow, "nudge"))
    assert "actions.get_user.email" in inside
    assert "actions.check.result" in inside
    assert not [path for path in inside if "welcome" in path or "nudge" in path]
    after = notes(variables(flow, "after"))
    assert after["actions.welcome"] == "only if check took Then"
    assert after["actions.nudge.plan"] == "only if check took Else"
    html = editor_client.get(url("flow_editor", flow) + "?step=after").content.decode()
    assert re.search(
        r'data-insert="actions.nudge.plan"[^>]*>actions.nudge.plan '
        r'<span class="picker-note">only if check took Else</span>',
        html,
    )
    inside_html = editor_client.get(url("flow_editor", flow) + "?step=nudge").content.decode()
    assert 'data-insert="actions.check.result"' in inside_html
    assert 'data-insert="actions.welcome' not in inside_html


def notes(found: list[Variable]) -> dict[str, str]:
    """The picker's paths, each with its note."""
    return {variable.path: variable.note for variable in found}


def test_the_scope_of_a_step_in_then_holds_its_condition_and_not_else(flow):
    last_test_run(
        flow,
        check=(StepRun.Status.SUCCEEDED, {"result": True}),
        nudge=(StepRun.Status.SUCCEEDED, {"plan": "free"}),
    )
    assert scope_for(flow, "welcome")["actions"] == {"check": {"result": True}}
    assert scope_for(flow, "after")["actions"] == {
        "check": {"result": True},
        "nudge": {"plan": "free"},
    }


def test_after_a_real_test_run_the_branch_not_taken_is_skipped_in_previews(
    editor_client, admin_user, django_capture_on_commit_callbacks
):
    flow = create_flow(
        name="Logic only",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                condition(
                    "check",
                    IS_PRO,
                    then=[logic("welcome", "STORE_VARS", vars={"plan": "pro"})],
                    otherwise=[logic("nudge", "STORE_VARS", vars={"plan": "free"})],
                ),
                logic("after", "RETURN_JSON", payload={"was": "x{{ actions.welcome.plan }}"}),
            ],
        },
        test_data=FREE,
    )
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(url("editor_test_run", flow), **HTMX)
    assert Run.objects.get(flow=flow).status == Run.Status.SUCCEEDED
    html = editor_client.get(url("flow_editor", flow) + "?step=after").content.decode()
    assert "step welcome was skipped in the last test run (its branch was not taken)" in html
    assert re.search(r'data-insert="actions.nudge.plan"[^>]*>actions.nudge.plan', html)
    assert 'data-insert="actions.check.result"' in html
