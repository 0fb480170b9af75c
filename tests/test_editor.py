"""The flow editor's endpoints: every change goes through the drafts and comes back as HTML."""

import json
import re

import pytest
from django.urls import reverse

from flows_app.models import Flow, FlowVersion, Run
from flows_app.services import create_flow
from flows_app.views import editor
from tests.flow_helpers import auth0_connection, step

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def flow(db, admin_user):
    return create_flow(
        name="Welcome",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                step("get_user", "GET_USER", user_id="{{ context.user.user_id }}"),
                step(
                    "call_api",
                    "SEND_REQUEST",
                    method="GET",
                    pathname="/api/v2/users/{{ actions.get_user.user_id }}",
                ),
            ],
        },
        test_data={"context": {"user": {"user_id": "auth0|123"}}},
    )


def test_the_editor_page_shows_palette_canvas_and_inspector(admin_client, flow):
    response = admin_client.get(reverse("flow_editor", args=[flow.pk]) + "?step=call_api")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Add </span>Send email" in html
    assert "get_user" in html and "call_api" in html
    assert "/api/v2/users/" in html


def url(name, flow, *args):
    return reverse(name, args=[flow.pk, *args])


def fresh(flow) -> Flow:
    flow.refresh_from_db()
    return flow


def ids(flow) -> list[str]:
    return [s["id"] for s in fresh(flow).draft["actions"]]


def test_a_viewer_reads_the_editor_without_controls(viewer_client, flow):
    html = viewer_client.get(url("flow_editor", flow) + "?step=get_user").content.decode()
    assert "Add </span>" not in html
    assert "hx-post" not in html and 'method="post" action="/flows' not in html
    assert "data-sortable" not in html
    assert '<fieldset class="plain" disabled>' in html
    assert "Sortable.min.js" not in html
    # Titled for reading, not editing.
    assert "<title>Welcome (read-only) · Sluice</title>" in html
    assert "Edit Welcome" not in html
    assert '<h1>Welcome <span class="pill">Read-only</span></h1>' in html
    unselected = viewer_client.get(url("flow_editor", flow)).content.decode()
    assert "Select a step on the canvas to see its settings." in unselected


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("editor_add", ()),
        ("editor_move", ()),
        ("editor_undo", ()),
        ("editor_test_data", ()),
        ("editor_publish", ()),
        ("editor_test_run", ()),
        ("editor_save", ("get_user",)),
        ("editor_rename", ("get_user",)),
        ("editor_preview", ("get_user",)),
        ("editor_duplicate", ("get_user",)),
        ("editor_delete", ("get_user",)),
        ("flow_version_restore", (1,)),
    ],
)
def test_viewers_may_not_change_anything(viewer_client, flow, name, args):
    FlowVersion.objects.create(flow=flow, number=1, definition=flow.draft)
    before = fresh(flow).draft
    response = viewer_client.post(url(name, flow, *args), {"action": "AUTH0/GET_USER"}, **HTMX)
    assert response.status_code == 403
    assert fresh(flow).draft == before


def test_every_post_needs_the_csrf_token(csrf_admin_client, flow):
    add = url("editor_add", flow)
    refused = csrf_admin_client.post(add, {"action": "AUTH0/GET_USER"}, **HTMX)
    assert refused.status_code == 403
    page = csrf_admin_client.get(url("flow_editor", flow))
    token = page.cookies["csrftoken"].value
    accepted = csrf_admin_client.post(
        add, {"action": "AUTH0/GET_USER"}, HTTP_X_CSRFTOKEN=token, **HTMX
    )
    assert accepted.status_code == 200
    assert len(ids(flow)) == 3


def test_adding_at_a_position_answers_with_canvas_and_inspector(editor_client, flow):
    response = editor_client.post(
        url("editor_add", flow), {"action": "AUTH0/SEND_SMS", "position": "1"}, **HTMX
    )
    html = response.content.decode()
    new = ids(flow)[1]
    assert new.startswith("send_sms_")
    assert 'id="canvas" class="canvas card" aria-labelledby="canvas-heading" hx-swap-oob' in html
    assert 'id="inspector"' in html and f'value="{new}"' in html
    assert f'data-focus-id="select-{new}"' in html  # focus, and the view, go to the new step


def test_adding_after_the_selected_step_or_at_the_end(editor_client, flow):
    editor_client.post(
        url("editor_add", flow), {"action": "AUTH0/SEND_SMS", "selected": "get_user"}, **HTMX
    )
    assert ids(flow)[1].startswith("send_sms_")
    editor_client.post(url("editor_add", flow), {"action": "AUTH0/MAKE_CALL"}, **HTMX)
    assert ids(flow)[-1].startswith("make_call_")


def test_an_unknown_action_is_refused(editor_client, flow):
    assert editor_client.post(url("editor_add", flow), {"action": "NOPE/NOPE"}).status_code == 400


def test_moving_keeps_focus_on_the_moved_step(editor_client, flow):
    response = editor_client.post(
        url("editor_move", flow), {"step": "call_api", "direction": "up"}, **HTMX
    )
    assert ids(flow) == ["call_api", "get_user"]
    # At the top now, so its Move up is disabled: focus goes to its Move down.
    assert 'data-focus-id="down-call_api"' in response.content.decode()
    editor_client.post(url("editor_move", flow), {"step": "call_api", "position": "1"}, **HTMX)
    assert ids(flow) == ["get_user", "call_api"]


def test_moving_without_javascript_redirects_back_with_focus_on_the_step(editor_client, flow):
    response = editor_client.post(url("editor_move", flow), {"step": "call_api", "direction": "up"})
    assert response.status_code == 302
    assert response["Location"] == url("flow_editor", flow)
    assert (
        'data-focus-id="down-call_api"' in editor_client.get(response["Location"]).content.decode()
    )
    assert "data-focus-id" not in editor_client.get(response["Location"]).content.decode()


def test_duplicate_delete_and_undo(editor_client, flow):
    editor_client.post(url("editor_duplicate", flow, "get_user"), **HTMX)
    first, twin, last = ids(flow)
    assert (first, last) == ("get_user", "call_api") and twin.startswith("get_user_")
    editor_client.post(url("editor_delete", flow, twin), {"selected": twin}, **HTMX)
    assert ids(flow) == ["get_user", "call_api"]
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert ids(flow) == ["get_user", twin, "call_api"]
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert ids(flow) == ["get_user", "call_api"]
    response = editor_client.post(url("editor_undo", flow), **HTMX)
    assert "Nothing to undo." in response.content.decode()


def test_delete_asks_first_and_names_the_steps_that_read_it(editor_client, flow):
    html = editor_client.get(url("flow_editor", flow)).content.decode()
    assert "Delete the step Get user (get_user)? Steps call_api read its output." in html


def test_saving_a_step_stores_every_kind_of_input(editor_client, flow, auth0_standin):
    tenant = auth0_connection(auth0_standin)
    response = editor_client.post(
        url("editor_save", flow, "call_api"),
        {
            "alias": "Look up the user",
            "p-connection_id": str(tenant.pk),
            "p-method": "POST",
            "p-pathname": "/api/v2/users/{{ context.user.user_id }}",
            "p-payload": '{"name": "{{ context.user.name }}"}',
            "p-headers-name": ["X-Trace", ""],
            "p-headers-value": ["abc", ""],
        },
        **HTMX,
    )
    assert response.status_code == 200
    saved = fresh(flow).draft["actions"][1]
    assert saved["alias"] == "Look up the user"
    assert saved["params"] == {
        "connection_id": tenant.pk,
        "method": "POST",
        "pathname": "/api/v2/users/{{ context.user.user_id }}",
        "payload": {"name": "{{ context.user.name }}"},
        "headers": {"X-Trace": "abc"},
    }
    html = response.content.decode()
    assert "Saved." in html and "Look up the user" in html  # the canvas came along


def test_bad_json_is_an_error_and_loses_nothing_else(editor_client, flow):
    editor_client.post(
        url("editor_save", flow, "call_api"), {"p-method": "GET", "p-payload": '{"a": 1}'}
    )
    response = editor_client.post(
        url("editor_save", flow, "call_api"),
        {"p-method": "PUT", "p-pathname": "/api/v2/x", "p-payload": '{"a": '},
        **HTMX,
    )
    html = response.content.decode()
    assert "This is not valid JSON" in html and "line 1, column 7" in html
    params = fresh(flow).draft["actions"][1]["params"]
    assert params["method"] == "PUT" and params["pathname"] == "/api/v2/x"
    assert params["payload"] == {"a": 1}
    # A full render (after a reload of the inspector) keeps what was typed too.
    context = editor.editor_context(
        _request(editor_client, flow), flow, "call_api", typed={"payload": '{"a": '}, json_errors={}
    )
    payload = next(f for f in context["fields"] if f.spec.name == "payload")
    assert payload.text == '{"a": '


def _request(client, flow):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = flow.owner
    return request


def test_a_custom_sender_and_its_checkbox(editor_client, flow):
    editor_client.post(url("editor_add", flow), {"action": "AUTH0/SEND_EMAIL"}, **HTMX)
    email_id = ids(flow)[-1]
    editor_client.post(
        url("editor_save", flow, email_id),
        {"p-from-on": "1", "p-from-email": "team@example.com", "p-from-name": "", "p-to": "a@b.c"},
    )
    assert fresh(flow).draft["actions"][-1]["params"]["from"] == {"email": "team@example.com"}
    html = editor_client.get(url("flow_editor", flow) + f"?step={email_id}").content.decode()
    assert "Use custom sender email" in html and 'value="team@example.com"' in html
    editor_client.post(url("editor_save", flow, email_id), {"p-to": "a@b.c"})
    assert "from" not in fresh(flow).draft["actions"][-1]["params"]


def test_renaming_rewrites_references_and_says_how_many(editor_client, flow):
    response = editor_client.post(url("editor_rename", flow, "get_user"), {"new_id": "who"}, **HTMX)
    assert "1 reference updated" in response.content.decode()
    assert ids(flow) == ["who", "call_api"]
    assert (
        fresh(flow).draft["actions"][1]["params"]["pathname"]
        == "/api/v2/users/{{ actions.who.user_id }}"
    )
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert ids(flow) == ["get_user", "call_api"]


def test_a_rename_that_clashes_is_refused_in_place(editor_client, flow):
    response = editor_client.post(
        url("editor_rename", flow, "get_user"), {"new_id": "call_api"}, **HTMX
    )
    html = response.content.decode()
    assert "Another step already has the id" in html and 'value="call_api"' in html
    assert ids(flow) == ["get_user", "call_api"]


def test_the_preview_renders_with_the_runs_code(editor_client, flow):
    response = editor_client.post(
        url("editor_preview", flow, "call_api"),
        {
            "p-method": "GET",
            "p-pathname": "/api/v2/users/{{ functions.encodeURIComponent(context.user.user_id) }}",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert "/api/v2/users/auth0%7C123" in html
    assert 'id="preview-pathname" hx-swap-oob="true"' in html


def test_a_broken_template_shows_line_and_column(editor_client, flow):
    response = editor_client.post(
        url("editor_preview", flow, "call_api"),
        {"p-pathname": "/users\n{{ context.user.user_id "},
        **HTMX,
    )
    html = response.content.decode()
    assert "Template error:" in html and "line 2" in html and "column" in html


def test_email_previews_in_a_sandbox_and_sms_counts_segments(editor_client, flow):
    editor_client.post(url("editor_add", flow), {"action": "AUTH0/SEND_EMAIL"}, **HTMX)
    editor_client.post(url("editor_add", flow), {"action": "AUTH0/SEND_SMS"}, **HTMX)
    email_id, sms_id = ids(flow)[-2:]
    email = editor_client.post(
        url("editor_preview", flow, email_id),
        {"p-body": "<p>Hi {{ context.user.user_id }} {{ context.nope }}</p>"},
        **HTMX,
    ).content.decode()
    assert 'sandbox="" srcdoc="&lt;p&gt;Hi auth0|123' in email
    assert "context.nope" in email  # the undefined variable is a warning
    sms = editor_client.post(
        url("editor_preview", flow, sms_id), {"p-message": "x" * 161}, **HTMX
    ).content.decode()
    assert "161 characters · 2 segments (GSM-7)" in sms


def test_the_preview_of_bad_json_says_where(editor_client, flow):
    html = editor_client.post(
        url("editor_preview", flow, "call_api"), {"p-payload": "{\n  oops"}, **HTMX
    ).content.decode()
    assert "This is not valid JSON" in html and "line 2" in html


def test_test_data_is_saved_or_kept_as_typed(editor_client, flow):
    bad = editor_client.post(url("editor_test_data", flow), {"test_data": '{"context": '}, **HTMX)
    html = bad.content.decode()
    assert "This is not valid JSON" in html and "{&quot;context&quot;: </textarea>" in html
    assert fresh(flow).test_data == {"context": {"user": {"user_id": "auth0|123"}}}
    odd = editor_client.post(url("editor_test_data", flow), {"test_data": '{"user": {}}'}, **HTMX)
    assert "Unknown key user" in odd.content.decode()
    good = editor_client.post(
        url("editor_test_data", flow), {"test_data": '{"vars": {"plan": "pro"}}'}, **HTMX
    )
    assert "sluice:test-data-saved" in good["HX-Trigger"]
    assert fresh(flow).test_data == {"vars": {"plan": "pro"}}


@pytest.mark.parametrize(
    "typed",
    [
        '{"vars": ' + '{"a": ' * 500 + "1" + "}" * 501,
        '{"vars": ' + "[" * 50_000 + "]" * 50_000 + "}",
    ],
)
def test_test_data_nested_too_deep_is_refused_and_kept_as_typed(editor_client, flow, typed):
    response = editor_client.post(url("editor_test_data", flow), {"test_data": typed}, **HTMX)

    assert response.status_code == 200
    assert "nests objects and lists more than 32 deep" in response.content.decode()
    assert response.context["test_data_text"] == typed
    assert fresh(flow).test_data == {"context": {"user": {"user_id": "auth0|123"}}}


def test_a_json_input_nested_too_deep_is_refused(editor_client, flow):
    typed = '{"a": ' * 200 + "1" + "}" * 200
    html = editor_client.post(
        url("editor_preview", flow, "call_api"), {"p-payload": typed}, **HTMX
    ).content.decode()
    assert "nests objects and lists more than 32 deep" in html


def test_the_variable_picker_lists_data_steps_and_functions(editor_client, flow):
    html = editor_client.get(url("flow_editor", flow) + "?step=call_api").content.decode()
    assert 'data-insert="context.user.user_id"' in html
    assert 'data-insert="actions.get_user"' in html
    assert 'data-insert="functions.encodeURIComponent()"' in html
    assert 'data-insert="actions.call_api"' not in html


def test_publishing_is_refused_while_there_are_problems(editor_client, flow):
    response = editor_client.post(url("editor_publish", flow), **HTMX)
    html = response.content.decode()
    assert "Nothing was published" in html and "Required." in html
    assert not flow.versions.exists()


def test_publishing_lists_the_version_and_it_can_be_restored(
    editor_client, editor_user, flow, auth0_standin
):
    tenant = auth0_connection(auth0_standin)
    for step_id in ("get_user", "call_api"):
        params = dict(fresh(flow).draft["actions"][ids(flow).index(step_id)]["params"])
        params = {f"p-{k}": v for k, v in params.items()}
        editor_client.post(
            url("editor_save", flow, step_id), {**params, "p-connection_id": tenant.pk}
        )
    response = editor_client.post(url("editor_publish", flow), **HTMX)
    html = response.content.decode()
    assert "Published version 1." in html and "by Eddie" in html
    editor_client.post(url("editor_delete", flow, "call_api"), **HTMX)
    page = editor_client.get(url("flow_version", flow, 1)).content.decode()
    assert "Read-only" in page and "call_api" in page and "Restore v1 as the draft" in page
    editor_client.post(url("flow_version_restore", flow, 1))
    assert ids(flow) == ["get_user", "call_api"]
    editor_client.post(url("editor_undo", flow), **HTMX)
    assert ids(flow) == ["get_user"]


def test_publishing_an_unchanged_draft_says_so_and_adds_no_version(editor_client, db):
    noop = {"id": "noop", "type": "FLOW", "action": "DO_NOTHING", "params": {}}
    flow = create_flow(name="Quiet", definition={"schema_version": 1, "actions": [noop]})
    first = editor_client.post(url("editor_publish", flow), **HTMX).content.decode()
    assert "Published version 1." in first
    again = editor_client.post(url("editor_publish", flow), **HTMX).content.decode()
    assert "Nothing changed since v1: no version was added." in again
    assert "Published version" not in again
    assert list(flow.versions.values_list("number", flat=True)) == [1]

    changed = fresh(flow).draft
    changed["actions"][0]["alias"] = "Wait a moment"
    Flow.objects.filter(pk=flow.pk).update(draft=changed)
    assert (
        "Published version 2."
        in editor_client.post(url("editor_publish", flow), **HTMX).content.decode()
    )
    editor_client.post(url("flow_version_restore", flow, 1))
    assert (
        "Published version 3."
        in editor_client.post(url("editor_publish", flow), **HTMX).content.decode()
    )
    assert FlowVersion.objects.get(flow=flow, number=3).definition["actions"][0] == noop


def test_a_test_run_runs_the_draft_and_shows_its_steps(
    editor_client, editor_user, db, auth0_standin, django_capture_on_commit_callbacks
):
    tenant = auth0_connection(auth0_standin)
    flow = create_flow(
        name="Run me",
        definition={
            "schema_version": 1,
            "actions": [step("look", "GET_USER", connection_id=tenant.pk, user_id="nobody")],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(url("editor_test_run", flow), **HTMX)
    run = Run.objects.get(flow=flow)
    assert run.trigger == Run.Trigger.TEST and run.version is None and run.created_by == editor_user
    html = editor_client.get(url("editor_run", flow, run.pk), **HTMX).content.decode()
    assert f'href="/runs/{run.pk}/"' in html and "look" in html and "Failed" in html
    assert "every 1s" not in html  # final: the polling stops
    assert "Queued" in response.content.decode() or "Failed" in response.content.decode()


def test_a_test_run_of_a_draft_with_problems_lists_them(editor_client, flow):
    html = editor_client.post(url("editor_test_run", flow), **HTMX).content.decode()
    assert "cannot run until its problems are fixed" in html
    assert not Run.objects.exists()


def test_an_unfinished_run_polls(editor_client, flow):
    run = Run.objects.create(flow=flow, definition=flow.draft, trigger=Run.Trigger.TEST)
    html = editor_client.get(url("editor_run", flow, run.pk), **HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in html and "Queued" in html


def test_selecting_a_step_returns_inspector_and_canvas(viewer_client, flow):
    html = viewer_client.get(url("editor_step", flow, "call_api"), **HTMX).content.decode()
    assert html.count('hx-swap-oob="true"') == 2
    assert "/api/v2/users/" in html
    assert viewer_client.get(url("editor_step", flow, "nope"), **HTMX).status_code == 404


def test_problems_show_on_their_step(editor_client, flow):
    html = editor_client.get(url("flow_editor", flow)).content.decode()
    assert "2 problems" in html or "problem" in html
    assert "Connection: Required." in html


def test_a_new_action_type_needs_no_editor_change(editor_client, flow, monkeypatch):
    from flows_app.actions import ACTION_TYPES
    from flows_app.actions.base import TEMPLATE, ActionType, Input

    extra = ActionType(
        "AUTH0",
        "SHOUT",
        "Notifications",
        "Shout",
        "Shout it.",
        (Input("words", "Words", TEMPLATE),),
        "",
        run=lambda i, c: None,
    )
    monkeypatch.setitem(ACTION_TYPES, extra.key, extra)
    html = editor_client.get(url("flow_editor", flow)).content.decode()
    assert "Add </span>Shout" in html
    editor_client.post(url("editor_add", flow), {"action": "AUTH0/SHOUT"}, **HTMX)
    assert json.dumps(fresh(flow).draft).count("SHOUT") == 1


def test_the_inspector_sets_and_clears_the_step_switches(admin_client, flow):
    step_id = flow.draft["actions"][0]["id"]
    params = flow.draft["actions"][0]["params"]
    data = {
        "alias": "",
        "allow_failure": "on",
        "mask_output": "on",
        **{f"param-{k}": v for k, v in params.items() if isinstance(v, str)},
    }
    admin_client.post(f"/flows/{flow.pk}/edit/steps/{step_id}/save/", data, **HTMX)
    flow.refresh_from_db()
    saved = flow.draft["actions"][0]
    assert saved["allow_failure"] is True and saved["mask_output"] is True
    page = admin_client.get(f"/flows/{flow.pk}/edit/?step={step_id}").content.decode()
    assert 'name="allow_failure" checked' in page
    admin_client.post(f"/flows/{flow.pk}/edit/steps/{step_id}/save/", {"alias": ""}, **HTMX)
    flow.refresh_from_db()
    assert "allow_failure" not in flow.draft["actions"][0]
    assert "mask_output" not in flow.draft["actions"][0]


# --- If/then branches on the canvas ------------------------------------------------------


def condition(step_id, then=(), otherwise=()):
    return {
        "id": step_id,
        "type": "FLOW",
        "action": "BOOLEAN_CONDITION",
        "params": {
            "if": {"operator": "AND", "operands": []},
            "then": [*then],
            "else": [*otherwise],
        },
    }


@pytest.fixture
def branched(db, admin_user):
    """first, check (then: read, inner (then: -, else: text), else: call), last"""
    return create_flow(
        name="Branches",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                step("first", "GET_USER"),
                condition(
                    "check",
                    then=[
                        step("read", "GET_USER", user_id="{{ actions.first.user_id }}"),
                        condition("inner", otherwise=[step("text", "SEND_SMS")]),
                    ],
                    otherwise=[step("call", "MAKE_CALL")],
                ),
                step("last", "SEND_SMS"),
            ],
        },
    )


def shape(flow):
    """The draft's ids as nested tuples: an If/then is (id, [then], [else])."""

    def of(steps):
        return [
            (s["id"], of(s["params"]["then"]), of(s["params"]["else"]))
            if s["action"] == "BOOLEAN_CONDITION"
            else s["id"]
            for s in steps
        ]

    return of(fresh(flow).draft["actions"])


def test_the_canvas_draws_branches_as_nested_lists(editor_client, branched):
    html = editor_client.get(url("flow_editor", branched)).content.decode()
    assert 'id="steps-check-then" aria-label="Then of If/then condition" data-sortable' in html
    assert 'data-parent="check" data-branch="then"' in html
    assert 'data-parent="inner" data-branch="else"' in html
    count = '<span class="branch-label">{}</span> <span class="branch-count">{}</span>'
    assert count.format("Then", "3 steps") in html and count.format("Else", "1 step") in html
    assert f'data-collapse-key="{branched.pk}:check:then" open' in html
    # The empty Then of inner says what to do, and every branch can be added to.
    assert "Empty: drag a step or an action here." in html
    assert html.count("+ Add step here") == 4
    assert f'href="/flows/{branched.pk}/edit/?step=inner&amp;into=then"' in html
    # Nested cards come in their branch's list, in order.
    then = html[html.index('id="steps-check-then"') : html.index('id="steps-check-else"')]
    assert then.index('id="card-read"') < then.index('id="card-inner"') < then.index("card-text")
    # Only the flow's ends cannot move; a nested step always has somewhere to go.
    assert re.search(r'id="up-first"[^>]*disabled', html)
    assert re.search(r'id="down-last"[^>]*disabled', html)
    assert not re.search(r'id="(up|down)-(read|text|call|inner|check)"[^>]*disabled', html)


def test_deleting_a_condition_says_what_goes_with_it(editor_client, branched):
    html = editor_client.get(url("flow_editor", branched)).content.decode()
    assert "Delete the step If/then condition (check)? The 4 steps in its branches go too." in html
    assert "Delete the step If/then condition (inner)? The 1 step in its branches goes too." in html
    editor_client.post(url("editor_delete", branched, "check"), {"selected": "text"}, **HTMX)
    assert shape(branched) == ["first", "last"]


def test_a_viewer_sees_branches_without_drop_zones_or_add_buttons(viewer_client, branched):
    html = viewer_client.get(url("flow_editor", branched)).content.decode()
    assert 'id="steps-check-then"' in html and "card-text" in html
    assert "data-sortable" not in html and "Add step here" not in html
    assert '<li class="drop-hint">No steps.</li>' in html


def test_a_published_version_shows_its_branches_read_only(editor_client, branched):
    FlowVersion.objects.create(flow=branched, number=1, definition=branched.draft)
    html = editor_client.get(url("flow_version", branched, 1)).content.decode()
    assert 'id="steps-check-else"' in html and "card-call" in html
    assert "data-sortable" not in html and "Add step here" not in html


def test_dropping_an_action_into_a_branch(editor_client, branched):
    response = editor_client.post(
        url("editor_add", branched),
        {"action": "FLOW/DO_NOTHING", "parent": "inner", "branch": "then", "position": "0"},
        **HTMX,
    )
    new = shape(branched)[1][1][1][1][0]
    assert new.startswith("do_nothing_")
    html = response.content.decode()
    assert f'id="card-{new}" class="step-card is-selected' in html
    assert f'value="{new}"' in html  # the inspector opened on it


def test_a_new_condition_comes_with_empty_branches(editor_client, branched):
    editor_client.post(url("editor_add", branched), {"action": "FLOW/BOOLEAN_CONDITION"}, **HTMX)
    new = fresh(branched).draft["actions"][-1]
    assert new["params"] == {"if": {"operator": "AND", "operands": []}, "then": [], "else": []}
    html = editor_client.get(url("flow_editor", branched)).content.decode()
    assert f'id="steps-{new["id"]}-then"' in html and f'id="steps-{new["id"]}-else"' in html


def test_the_add_buttons_add_after_the_selected_step_in_its_branch(editor_client, branched):
    # With htmx the canvas's current selection comes along...
    editor_client.post(
        url("editor_add", branched),
        {"action": "FLOW/DO_NOTHING", "selected": "read", "into": "", "after": "last"},
        **HTMX,
    )
    then = shape(branched)[1][1]
    assert then[0] == "read" and then[1].startswith("do_nothing_") and then[2][0] == "inner"
    # ...without JavaScript the page's palette form says the same, and the answer redirects.
    response = editor_client.post(
        url("editor_add", branched), {"action": "FLOW/DO_NOTHING", "after": "call"}
    )
    added = shape(branched)[1][2][1]
    assert shape(branched)[1][2][0] == "call" and added.startswith("do_nothing_")
    assert response.status_code == 302
    assert response["Location"] == url("flow_editor", branched) + f"?step={added}"


def test_choosing_a_branch_makes_the_add_buttons_add_there_without_javascript(
    editor_client, branched
):
    page = editor_client.get(url("flow_editor", branched) + "?step=inner&into=then")
    html = page.content.decode()
    assert '<input type="hidden" name="after" value="inner">' in html
    assert '<input type="hidden" name="after_into" value="then">' in html
    assert f'is-target" data-collapse-key="{branched.pk}:inner:then"' in html
    assert "New steps go here: choose one under Actions." in html
    response = editor_client.post(
        url("editor_add", branched),
        {"action": "FLOW/DO_NOTHING", "after": "inner", "after_into": "then"},
    )
    assert response.status_code == 302
    first = shape(branched)[1][1][1][1]
    assert len(first) == 1 and first[0].startswith("do_nothing_")
    # The new step is selected, so the next Add goes after it, in the same branch.
    editor_client.post(
        url("editor_add", branched), {"action": "FLOW/DO_NOTHING", "after": first[0]}
    )
    assert len(shape(branched)[1][1][1][1]) == 2


def test_choosing_a_branch_with_htmx_marks_it_and_sends_focus_to_the_palette(
    editor_client, branched
):
    response = editor_client.get(url("editor_step", branched, "check") + "?into=else", **HTMX)
    html = response.content.decode()
    assert 'data-focus-id="palette-heading"' in html
    assert '<input type="hidden" id="insert-into" name="into" value="else">' in html
    assert f'is-target" data-collapse-key="{branched.pk}:check:else"' in html
    editor_client.post(
        url("editor_add", branched),
        {"action": "FLOW/DO_NOTHING", "selected": "check", "into": "else", "after": ""},
        **HTMX,
    )
    otherwise = shape(branched)[1][2]
    assert otherwise[0] == "call" and otherwise[1].startswith("do_nothing_")
    # A branch of a step that has none is no choice at all.
    plain = editor_client.get(url("editor_step", branched, "read") + "?into=then", **HTMX)
    assert 'name="into" value=""' in plain.content.decode()
    assert "data-focus-id" not in plain.content.decode()
    redirect = editor_client.get(url("editor_step", branched, "check") + "?into=else")
    assert redirect["Location"] == url("flow_editor", branched) + "?step=check&into=else"


def test_dragging_a_step_into_out_of_and_between_branches(editor_client, branched):
    move = url("editor_move", branched)
    editor_client.post(
        move, {"step": "last", "parent": "inner", "branch": "then", "position": "0"}, **HTMX
    )
    assert shape(branched)[1][1][1] == ("inner", ["last"], ["text"])
    editor_client.post(
        move, {"step": "last", "parent": "check", "branch": "else", "position": "1"}, **HTMX
    )
    assert shape(branched)[1][2] == ["call", "last"]
    response = editor_client.post(move, {"step": "read", "position": "0"}, **HTMX)
    assert shape(branched)[0] == "read"
    assert 'data-focus-id="select-read"' in response.content.decode()


def test_a_condition_cannot_be_dropped_into_its_own_branch(editor_client, branched):
    before = fresh(branched).draft
    response = editor_client.post(
        url("editor_move", branched),
        {"step": "check", "parent": "inner", "branch": "else", "position": "0"},
        **HTMX,
    )
    assert "An If/then step cannot move into its own branches." in response.content.decode()
    assert fresh(branched).draft == before and not fresh(branched).undo
    # Without JavaScript the page says it after the redirect.
    response = editor_client.post(
        url("editor_move", branched),
        {"step": "check", "parent": "check", "branch": "then", "position": "0"},
        follow=True,
    )
    assert "An If/then step cannot move into its own branches." in response.content.decode()


@pytest.mark.parametrize(
    ("step_id", "direction", "where", "focus"),
    [
        ("first", "down", lambda s: s[0][1][0], "down-first"),
        ("read", "up", lambda s: s[1], "up-read"),
        ("first", "up", lambda s: s[0], "down-first"),  # the flow's first stays
        ("inner", "down", lambda s: s[1][2][0][0], "down-inner"),
        ("call", "down", lambda s: s[2], "down-call"),
        ("last", "up", lambda s: s[1][2][1], "up-last"),
        ("call", "up", lambda s: s[1][1][2], "up-call"),
    ],
)
def test_up_and_down_go_through_branches_and_keep_focus(
    editor_client, branched, step_id, direction, where, focus
):
    response = editor_client.post(
        url("editor_move", branched), {"step": step_id, "direction": direction}, **HTMX
    )
    assert where(shape(branched)) in (step_id, (step_id, [], ["text"]))
    assert f'data-focus-id="{focus}"' in response.content.decode()


def test_up_and_down_work_without_javascript(editor_client, branched):
    response = editor_client.post(
        url("editor_move", branched), {"step": "text", "direction": "down", "selected": "text"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?step=text")
    assert shape(branched)[1][1] == ["read", ("inner", [], []), "text"]


def test_duplicating_a_condition_copies_its_branches_with_new_ids(editor_client, branched):
    from flows_app.definition import all_steps

    response = editor_client.post(url("editor_duplicate", branched, "check"), **HTMX)
    draft = fresh(branched).draft
    ids_now = [s["id"] for s in all_steps(draft)]
    assert len(ids_now) == len(set(ids_now)) == 7 + 5
    twin = draft["actions"][2]
    assert f'data-focus-id="select-{twin["id"]}"' in response.content.decode()
    assert len(twin["params"]["then"]) == 2 and len(twin["params"]["else"]) == 1


def test_a_nested_step_is_selected_saved_and_renamed(editor_client, branched):
    selected = editor_client.get(url("editor_step", branched, "text"), **HTMX)
    assert selected.status_code == 200 and 'value="text"' in selected.content.decode()
    saved = editor_client.post(
        url("editor_save", branched, "text"), {"alias": "Text them", "p-to": "+1555"}, **HTMX
    )
    html = saved.content.decode()
    # The card's summary and its buttons' labels come back out of band, never a card: a
    # click on one that waits for the save still finds its element.
    assert 'id="main-text" hx-swap-oob="true"' in html and "Text them" in html
    assert 'id="up-label-text" hx-swap-oob="true">Move up Text them (text)</span>' in html
    assert 'data-confirm="Delete the step Text them (text)?' in html
    assert '<li id="card-' not in html
    text = fresh(branched).draft["actions"][1]["params"]["then"][1]["params"]["else"][0]
    assert text["alias"] == "Text them" and text["params"]["to"] == "+1555"
    editor_client.post(url("editor_rename", branched, "first"), {"new_id": "who"}, **HTMX)
    read = fresh(branched).draft["actions"][1]["params"]["then"][0]
    assert read["params"]["user_id"] == "{{ actions.who.user_id }}"


def test_saving_a_condition_keeps_its_branches(editor_client, branched):
    saved = editor_client.post(
        url("editor_save", branched, "check"), {"alias": "Is it Ada?"}, **HTMX
    )
    assert saved.status_code == 200
    html = saved.content.decode()
    assert 'id="main-check" hx-swap-oob="true"' in html and "Is it Ada?" in html
    assert '<li id="card-' not in html  # its branches' cards stay as they are
    assert shape(branched)[1] == ("check", ["read", ("inner", [], ["text"])], ["call"])
    assert fresh(branched).draft["actions"][1]["alias"] == "Is it Ada?"


# Filters on a 16 KB text, 10,000 times over: far more than any time limit allows.
HEAVY = (
    "{% assign s = 'x' %}{% for i in (1..14) %}{% assign s = s | append: s %}{% endfor %}"
    "{% for i in (1..10000) %}{{ s | split: '' | join: '' | size }}{% endfor %}"
)


def test_a_preview_stops_at_1_second_of_cpu_where_a_run_gets_2(editor_client, flow):
    from flows_app.models import Run
    from tests.flow_helpers import run_steps

    payload = json.dumps({"n": HEAVY})
    html = editor_client.post(
        url("editor_preview", flow, "call_api"), {"p-payload": payload}, **HTMX
    ).content.decode()
    run = run_steps(
        {"id": "r", "type": "FLOW", "action": "RETURN_JSON", "params": {"payload": {"n": HEAVY}}}
    )

    assert "render time limit reached: 1 second of CPU" in html
    assert run.status == Run.Status.FAILED
    assert "render time limit reached: 2 seconds of CPU" in run.error


def test_every_json_input_says_once_that_it_takes_liquid(editor_client, flow):
    for action in ("FLOW/RETURN_JSON", "AUTH0/CREATE_USER", "AUTH0/SEND_REQUEST"):
        html = editor_client.post(url("editor_add", flow), {"action": action}, **HTMX)
        helps = re.findall(r'<p class="help" id="in-payload-help">(.*?)</p>', html.content.decode())
        assert len(helps) == 1 and helps[0].count("Liquid") == 1, (action, helps)


def test_a_test_run_in_a_short_delay_says_how_many_seconds_are_left(
    editor_client, db, django_capture_on_commit_callbacks
):
    wait = {"id": "wait", "type": "FLOW", "action": "DELAY_FLOW"}
    flow = create_flow(
        name="Short wait",
        definition={
            "schema_version": 1,
            "actions": [{**wait, "params": {"number": 8, "units": "SECONDS"}}],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(url("editor_test_run", flow), **HTMX)
    run = Run.objects.get()
    assert run.status == Run.Status.WAITING
    html = editor_client.get(url("editor_run", flow, run.pk), **HTMX).content.decode()
    assert re.search(r"\(in [1-8] seconds?\)", html), html
    assert "0 minutes" not in html
