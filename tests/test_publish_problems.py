"""Problems that used to show only at run time: a step that sends without a usable
provider, and an If/then without a condition. They are marked on the step and refuse
publishing; a run still starts, and a send step without a provider fails as before."""

import pytest
from django.urls import reverse

from flows_app.definition import validate
from flows_app.engine import execute
from flows_app.interop import import_documents
from flows_app.models import Run
from flows_app.services import (
    InvalidFlow,
    create_flow,
    create_run,
    problems_to_publish,
    publish_flow,
)
from tests.flow_helpers import email_provider, phone_provider, step
from tests.test_logic import logic
from vault_app.models import Connection, set_provider

HTMX = {"HTTP_HX_REQUEST": "true"}
NO_EMAIL = "No email provider is configured, so this step cannot send."
NO_PHONE = "No phone provider is configured, so this step cannot send."
VAULT_LINK = 'href="/vault/#providers-heading">Set up the email provider in the vault</a>'


def url(name, flow, *args):
    return reverse(name, args=[flow.pk, *args])


@pytest.fixture
def notify(db, admin_user):
    return create_flow(
        name="Notify",
        owner=admin_user,
        definition={
            "schema_version": 1,
            "actions": [
                step("mail", "SEND_EMAIL", to="a@example.com", subject="Hi", body="<p>Hi</p>"),
                step("text", "SEND_SMS", to="+15550100", message="Hi"),
                step("ring", "MAKE_CALL", to="+15550100", message="Hi"),
            ],
        },
    )


def messages(flow) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in problems_to_publish(flow.draft):
        found.setdefault(str(problem.step_id), []).append(problem.message)
    return found


def test_send_steps_without_providers_are_problems_until_an_admin_chooses_them(
    notify, smtp_standin, twilio_standin
):
    found = messages(notify)
    assert [m.startswith(NO_EMAIL) for m in found["mail"]] == [True]
    assert [m.startswith(NO_PHONE) for m in found["text"] + found["ring"]] == [True, True]
    email_provider(smtp_standin)
    assert set(messages(notify)) == {"text", "ring"}
    phone_provider(twilio_standin)
    assert messages(notify) == {}
    assert publish_flow(notify).number == 1


def test_a_provider_that_is_not_set_up_is_a_problem_too(notify):
    placeholder = Connection.objects.create(kind="smtp", name="Relay from Auth0")
    set_provider("email", placeholder)
    assert messages(notify)["mail"] == [
        "The email provider, Relay from Auth0, is not set up yet (Host, Port, Security, Default "
        "sender email missing), so this step cannot send. An admin completes it on the Vault page."
    ]


def test_the_editor_marks_the_step_and_links_admins_to_the_vault(
    admin_client, editor_client, notify
):
    admin_page = admin_client.get(url("flow_editor", notify) + "?step=mail").content.decode()
    card = admin_page[admin_page.index('id="card-mail"') : admin_page.index('id="card-text"')]
    assert "1 problem" in card and NO_EMAIL in card and VAULT_LINK in card
    inspector = admin_page[admin_page.index('id="inspector"') :]
    assert NO_EMAIL in inspector and VAULT_LINK in inspector
    editor_page = editor_client.get(url("flow_editor", notify) + "?step=mail").content.decode()
    assert NO_EMAIL in editor_page and "An admin chooses one on the Vault page." in editor_page
    assert "/vault/" not in editor_page  # the vault is for admins only


def test_publishing_is_refused_naming_the_step_that_cannot_send(editor_client, notify):
    html = editor_client.post(url("editor_publish", notify), **HTMX).content.decode()
    assert "Nothing was published" in html and f"mail: {NO_EMAIL}" in html
    assert not notify.versions.exists()


def test_the_problem_goes_away_as_soon_as_an_admin_chooses_a_provider(
    admin_client, notify, smtp_standin, twilio_standin
):
    email_provider(smtp_standin, name="Relay")
    twilio = phone_provider(twilio_standin)
    set_provider("phone", None)
    form = {"email": Connection.objects.get(name="Relay").pk, "phone": twilio.pk}
    assert admin_client.post(reverse("vault:providers"), form).status_code == 302
    html = admin_client.get(url("flow_editor", notify)).content.decode()
    assert "problem" not in html and html.count("Ready") == 3


def test_a_run_still_starts_and_the_step_fails_as_before(notify):
    run = execute(create_run(notify, trigger=Run.Trigger.TEST, draft=True))
    assert run.status == Run.Status.FAILED
    assert "No email provider is configured" in run.steps.get(step_id="mail").error


def test_a_flow_that_sends_imports_without_providers(db):
    mail = step("mail", "SEND_EMAIL", to="a@example.com", subject="Hi", body="Hi")
    report = import_documents([("flow.json", {"name": "Imported", "actions": [mail]})])
    assert [flow.name for flow in report.flows] == ["Imported"]


# --- If/then without a condition ----------------------------------------------------------


def branching(test) -> dict:
    params = {"then": [logic("yes", "DO_NOTHING")], "else": []}
    if test is not None:
        params["if"] = test
    return {"schema_version": 1, "actions": [logic("check", "BOOLEAN_CONDITION", **params)]}


@pytest.mark.parametrize(
    ("test", "branch"),
    [
        (None, "Then"),
        ({}, "Then"),
        ({"operator": "AND", "operands": []}, "Then"),
        ({"operator": "OR", "operands": []}, "Else"),
        ({"operator": "OR", "operands": [{"operator": "AND", "operands": []}]}, "Then"),
    ],
)
def test_an_if_then_without_a_condition_is_a_problem(test, branch):
    problems = validate(branching(test))
    assert [(p.step_id, p.input, p.message) for p in problems] == [
        ("check", "Condition", f"Add a condition: without one, this If/then always takes {branch}.")
    ]


def test_one_comparison_is_enough(db):
    test = {"operator": "AND", "operands": [{"operator": "EXISTS", "operands": ["{{ vars.x }}"]}]}
    assert validate(branching(test)) == []
    flow = create_flow(name="Checked", definition=branching(test))
    assert publish_flow(flow).number == 1


def test_the_editor_shows_it_on_the_condition_and_refuses_to_publish(editor_client, db):
    flow = create_flow(name="Empty", definition=branching(None))
    page = editor_client.get(url("flow_editor", flow) + "?step=check").content.decode()
    card = page[page.index('id="card-check"') : page.index('id="card-yes"')]
    assert "1 problem" in card and "Condition: Add a condition" in card
    errors = page[page.index('id="errors-if"') :]
    assert errors.startswith('id="errors-if"><li>Add a condition: without one')
    html = editor_client.post(url("editor_publish", flow), **HTMX).content.decode()
    assert "check · Condition: Add a condition" in html
    with pytest.raises(InvalidFlow):
        publish_flow(flow)
