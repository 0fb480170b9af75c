"""The sample a new installation starts with: made once on the embedded default's first
start, offered again on an empty Flows page, and run end to end against the sandbox tenant
with its email caught by the outbox."""

import pytest
from django.core.management import call_command

from flows_app.models import Flow, Run, StepRun
from flows_app.services import problems_of, start_run
from outbox_app.models import OutboxMessage
from sample_app.models import FirstStart
from sample_app.sample import FLOW_NAME, create_sample, first_start
from sandbox_app.models import SandboxTenant, SandboxUser
from tests.flow_helpers import connection
from vault_app.models import Connection, provider, set_provider


@pytest.fixture(autouse=True)
def _embedded(settings):
    """The sample belongs to the embedded default, whichever pass runs these tests."""
    settings.PRODUCTION = False


def test_the_first_start_makes_a_published_sample_that_needs_nothing_else(admin_user, capsys):
    call_command("first_start")

    flow = Flow.objects.get()
    assert flow.name == FLOW_NAME and flow.owner == admin_user
    version = flow.latest_version()
    assert version is not None and version.definition == flow.draft
    assert problems_of(flow.draft) == []
    tenant = SandboxTenant.objects.get()
    emails = sorted(SandboxUser.objects.values_list("email", flat=True))
    assert (tenant.slug, emails) == ("sample", ["ada@example.com", "grace@example.com"])
    ada = SandboxUser.objects.get(email="ada@example.com")
    assert flow.test_data == {"context": {"user": {"user_id": ada.user_id}}}
    sandbox = Connection.objects.get(kind="sandbox")
    assert sandbox.config == {"tenant": "sample"}
    assert flow.connection_uses.get().connection == sandbox
    assert provider("email").kind == provider("phone").kind == "outbox"
    out = capsys.readouterr().out
    assert "Set up the sample flow “Welcome a new user”" in out
    assert "(now the email and phone provider)" in out
    assert f"/flows/{flow.pk}/ and press Run" in out


def test_later_starts_change_nothing_even_after_the_sample_was_deleted(admin_user, capsys):
    call_command("first_start")
    Flow.objects.all().delete()
    capsys.readouterr()

    call_command("first_start")

    assert not Flow.objects.exists()
    assert SandboxUser.objects.count() == 2
    assert capsys.readouterr().out == ""


def test_an_installation_already_in_use_is_left_as_it_is(admin_user, smtp_standin):
    connection("smtp", "Mail relay", smtp_standin.credentials())

    assert first_start() is None

    assert not Flow.objects.exists() and not SandboxTenant.objects.exists()
    assert provider("email") is None
    assert FirstStart.objects.get().set_up is False


def test_production_makes_no_sample(admin_user, settings):
    settings.PRODUCTION = True

    call_command("first_start")

    assert not Flow.objects.exists() and not FirstStart.objects.exists()


def test_providers_an_admin_chose_are_kept(db, smtp_standin):
    mail = connection("smtp", "Mail relay", smtp_standin.credentials())
    set_provider("email", mail)

    sample = create_sample()

    assert provider("email") == mail
    assert provider("phone") == sample.outbox
    assert sample.providers == ["phone"]


def test_making_it_again_reuses_the_tenant_its_users_and_the_connections(db):
    first = create_sample()
    second = create_sample()

    assert Flow.objects.count() == 2
    assert SandboxUser.objects.count() == 2
    assert Connection.objects.count() == 2
    assert first.flow.draft == second.flow.draft


# The empty Flows page ---------------------------------------------------------------------------


def test_the_empty_flows_page_offers_the_sample_to_editors(editor_client, viewer_client):
    offered = editor_client.get("/flows/").content.decode()
    not_for_viewers = viewer_client.get("/flows/").content.decode()

    assert "Create the sample flow" in offered
    assert "Create the sample flow" not in not_for_viewers


def test_the_sample_is_made_from_the_flows_page(editor_client, editor_user):
    response = editor_client.post("/flows/sample/")

    flow = Flow.objects.get()
    assert response["Location"] == f"/flows/{flow.pk}/"
    assert flow.owner == editor_user and flow.versions.count() == 1
    assert "Create the sample flow" not in editor_client.get("/flows/").content.decode()


def test_production_neither_offers_nor_makes_it(editor_client, viewer_client, settings):
    settings.PRODUCTION = True

    assert "Create the sample flow" not in editor_client.get("/flows/").content.decode()
    assert editor_client.post("/flows/sample/").status_code == 404
    assert viewer_client.post("/flows/sample/").status_code == 403
    assert not Flow.objects.exists()


# Running it --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sample_emails_ada_and_texts_grace_through_the_outbox(
    admin_user, sluice_server, settings
):
    settings.PUBLIC_URL = sluice_server
    flow = first_start().flow
    grace = SandboxUser.objects.get(email="grace@example.com").user_id

    pro = start_run(flow, trigger=Run.Trigger.MANUAL, user=admin_user)
    free = start_run(
        flow, trigger=Run.Trigger.MANUAL, input={"context": {"user": {"user_id": grace}}}
    )

    pro.refresh_from_db()
    free.refresh_from_db()
    assert (pro.status, free.status) == ("succeeded", "succeeded"), (pro.error, free.error)
    assert pro.result == {
        "user_id": flow.test_data["context"]["user"]["user_id"],
        "plan": "pro",
        "welcomed_by": "email",
    }
    assert free.result["welcomed_by"] == "text"
    path = dict(pro.steps.values_list("step_id", "status"))
    assert path == {
        "get_user": StepRun.Status.SUCCEEDED,
        "check_plan": StepRun.Status.SUCCEEDED,
        "welcome_email": StepRun.Status.SUCCEEDED,
        "welcome_sms": StepRun.Status.SKIPPED,
        "result": StepRun.Status.SUCCEEDED,
    }
    email = OutboxMessage.objects.get(channel="email")
    assert (email.run_id, email.step_id, email.recipient) == (
        pro.pk,
        "welcome_email",
        "ada@example.com",
    )
    assert email.subject == "Welcome to Pro, Ada!"
    assert "<h1>Welcome aboard, Ada!</h1>" in email.html
    text = OutboxMessage.objects.get(channel="sms")
    assert (text.run_id, text.recipient) == (free.pk, "+14155550123")
    assert text.text.startswith("Hi Grace, welcome to Acme!")
