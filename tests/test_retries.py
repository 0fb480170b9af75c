"""Retry a failed run from its failed step: a new run of the same version that reuses what
succeeded, linked both ways, from the run page and the HTTP API; what cannot be retried is
refused with a reason, and nothing runs."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from flows_app.api_auth import create_token
from flows_app.engine import execute
from flows_app.models import FlowVersion, Run, StepRun
from flows_app.retries import CannotRetry, retry_run
from flows_app.services import create_flow, create_run, publish_flow
from flows_app.step_tests import start_step_test
from tests.flow_helpers import auth0_connection, email_provider, step
from tests.test_logic import failing, logic

USER = {"user_id": "auth0|42", "email": "ada@example.com", "given_name": "Ada"}


@pytest.fixture
def welcome(db, admin_user, auth0_standin, smtp_standin):
    """Send a notice, look the user up (the tenant lacks it at first), answer: published."""
    tenant = auth0_connection(auth0_standin)
    email_provider(smtp_standin)
    notice = step(
        "notice", "SEND_EMAIL", to="ops@example.com", subject="Sign-up", body="<p>New</p>"
    )
    lookup = step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|42")
    answer = logic("answer", "RETURN_JSON", payload={"name": "{{ actions.get_user.given_name }}"})
    flow = create_flow(
        name="Welcome",
        owner=admin_user,
        definition={"schema_version": 1, "actions": [notice, lookup, answer]},
    )
    publish_flow(flow)
    return flow


@pytest.fixture
def failed(welcome, smtp_standin):
    run = execute(create_run(welcome, trigger=Run.Trigger.API, input={"fields": {"n": 1}}))
    assert run.status == Run.Status.FAILED and "get_user" in run.error
    assert len(smtp_standin.messages) == 1
    return run


@pytest.fixture
def retried(django_capture_on_commit_callbacks):
    def retry(run: Run, user=None) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            new = retry_run(run, user=user)
        new.refresh_from_db()
        return new

    return retry


def fix(auth0_standin):
    auth0_standin.users[USER["user_id"]] = USER


def records(run: Run) -> dict[str, StepRun]:
    return {record.step_id: record for record in run.steps.all()}


def test_a_retry_reuses_what_succeeded_and_runs_from_the_failed_step(
    failed, retried, auth0_standin, smtp_standin
):
    fix(auth0_standin)
    retry = retried(failed)
    assert retry.status == Run.Status.SUCCEEDED, retry.error
    assert retry.result == {"name": "Ada"}
    assert len(smtp_standin.messages) == 1  # the notice is not sent again
    steps = records(retry)
    assert steps["notice"].reused and steps["notice"].status == StepRun.Status.SUCCEEDED
    assert not steps["get_user"].reused and steps["get_user"].output["email"] == USER["email"]
    assert (retry.version, retry.trigger, retry.input) == (failed.version, "api", failed.input)
    assert retry.retry_of == failed and list(failed.retries.all()) == [retry]


def test_a_retry_that_fails_again_can_be_retried_in_turn(failed, retried, auth0_standin):
    again = retried(failed)
    assert again.status == Run.Status.FAILED
    fix(auth0_standin)
    last = retried(again)
    assert last.status == Run.Status.SUCCEEDED and last.retry_of == again


def test_a_retry_runs_the_version_the_run_ran_not_the_newest(failed, retried, auth0_standin):
    welcome = failed.flow
    welcome.draft["actions"][2]["params"]["payload"] = {"changed": True}
    welcome.save()
    publish_flow(welcome)
    fix(auth0_standin)
    retry = retried(failed)
    assert retry.version.number == 1 and retry.result == {"name": "Ada"}


def test_what_cannot_be_retried_is_refused_and_nothing_runs(failed, retried, auth0_standin):
    fix(auth0_standin)
    succeeded = retried(failed)
    with pytest.raises(CannotRetry, match=r"did not fail \(it succeeded\): only a failed run"):
        retry_run(succeeded)
    queued = create_run(failed.flow, trigger=Run.Trigger.MANUAL)
    with pytest.raises(CannotRetry, match=r"has not failed \(it is queued\)"):
        retry_run(queued)
    step_test = start_step_test(failed.flow, "answer")
    step_test.status = Run.Status.FAILED
    with pytest.raises(CannotRetry, match="tested one step: test the step again"):
        retry_run(step_test)
    FlowVersion.objects.all().delete()
    failed.refresh_from_db()
    with pytest.raises(CannotRetry, match="Version 1 of Welcome, which run #.* has been deleted"):
        retry_run(failed)
    assert Run.objects.filter(retry_of__isnull=False).count() == 1


def test_a_failed_test_run_is_retried_on_the_draft_it_ran_with_its_pins(
    welcome, retried, auth0_standin, smtp_standin
):
    welcome.draft["pins"] = {"answer": {"pinned": True}}
    welcome.save()
    run = execute(create_run(welcome, trigger=Run.Trigger.TEST, draft=True))
    welcome.draft = {"schema_version": 1, "actions": []}  # the draft moves on
    welcome.save()
    fix(auth0_standin)
    retry = retried(run)
    assert retry.trigger == Run.Trigger.TEST and retry.version is None
    assert retry.status == Run.Status.SUCCEEDED
    assert records(retry)["answer"].status == StepRun.Status.PINNED
    assert retry.result == {"pinned": True}
    assert len(smtp_standin.messages) == 1


# The run page


def test_editors_retry_from_the_run_page(editor_client, failed, auth0_standin):
    page = editor_client.get(reverse("run_detail", args=[failed.pk])).content.decode()
    assert "Retry from the failed step" in page
    fix(auth0_standin)
    response = editor_client.post(reverse("run_retry", args=[failed.pk]))
    retry = Run.objects.get(retry_of=failed)
    assert response.status_code == 302 and response.url == reverse("run_detail", args=[retry.pk])
    page = editor_client.get(response.url).content.decode()
    assert f'Retry of <a href="/runs/{failed.pk}/">run #{failed.pk}</a>' in page
    assert 'class="pill pill-reused"' in page
    original = editor_client.get(reverse("run_detail", args=[failed.pk])).content.decode()
    assert f'Retried as <a href="/runs/{retry.pk}/">run #{retry.pk}</a>' in original
    listing = editor_client.get(reverse("run_list")).content.decode()
    assert f'<span class="retry-mark">retry of #{failed.pk}</span>' in listing


def test_a_run_that_cannot_be_retried_says_why_on_its_page(
    editor_client, viewer_client, failed, auth0_standin
):
    fix(auth0_standin)
    succeeded = execute(create_run(failed.flow, trigger=Run.Trigger.MANUAL))
    page = editor_client.get(reverse("run_detail", args=[succeeded.pk])).content.decode()
    assert "Retry from the failed step" not in page
    response = editor_client.post(reverse("run_retry", args=[succeeded.pk]), follow=True)
    assert "only a failed run can be retried" in response.content.decode()
    assert viewer_client.post(reverse("run_retry", args=[failed.pk])).status_code == 403
    viewing = viewer_client.get(reverse("run_detail", args=[failed.pk])).content.decode()
    assert "Retry from the failed step" not in viewing
    FlowVersion.objects.all().delete()
    deleted = editor_client.get(reverse("run_detail", args=[failed.pk])).content.decode()
    assert "v1 (deleted)" in deleted and "has been deleted, so the run cannot be retried" in deleted
    assert "Retry from the failed step" not in deleted
    assert not Run.objects.filter(retry_of__isnull=False).exists()


# The HTTP API


def api_retry(run: Run, token: str, **headers) -> Client:
    return Client().post(
        f"/api/runs/{run.pk}/retry", headers={"Authorization": f"Bearer {token}", **headers}
    )


def test_the_api_retries_a_failed_run(failed, admin_user):
    token = create_token(failed.flow, name="Sign-up service", user=admin_user)[1]
    response = api_retry(failed, token)
    assert response.status_code == 202
    body = response.json()
    retry = Run.objects.get(retry_of=failed)
    assert body["id"] == retry.pk and body["retry_of"] == failed.pk
    assert body["status"] == "queued" and response["Location"].endswith(f"/api/runs/{retry.pk}")
    read = Client().get(f"/api/runs/{failed.pk}", headers={"Authorization": f"Bearer {token}"})
    assert read.json()["retries"] == [retry.pk]


def test_the_api_refuses_what_cannot_be_retried(
    failed, admin_user, phone_flow_token, auth0_standin
):
    token = create_token(failed.flow, name="Sign-up service", user=admin_user)[1]
    fix(auth0_standin)
    succeeded = execute(create_run(failed.flow, trigger=Run.Trigger.MANUAL))
    refused = api_retry(succeeded, token)
    assert refused.status_code == 409
    assert refused.json()["error"] == "not_retryable"
    assert "only a failed run can be retried" in refused.json()["message"]
    assert api_retry(failed, phone_flow_token).status_code == 403
    assert Client().post(f"/api/runs/{failed.pk}/retry").status_code == 401
    assert Client().post("/api/runs/999999/retry", headers=auth(token)).status_code == 404
    assert Client().get(f"/api/runs/{failed.pk}/retry", headers=auth(token)).status_code == 405
    bad_wait = api_retry(failed, token, Prefer="wait=600")
    assert bad_wait.status_code == 400 and bad_wait.json()["error"] == "invalid_input"
    assert not Run.objects.filter(retry_of__isnull=False).exists()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def phone_flow_token(db, admin_user):
    other = create_flow(name="Other", definition={"schema_version": 1, "actions": []})
    return create_token(other, name="Other service", user=admin_user)[1]


@pytest.mark.django_db(transaction=True)
def test_a_caller_can_wait_for_the_retry_to_end(auth0_standin, smtp_standin, admin_user):
    tenant = auth0_connection(auth0_standin)
    email_provider(smtp_standin)
    lookup = step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|42")
    answer = logic("answer", "RETURN_JSON", payload={"email": "{{ actions.get_user.email }}"})
    flow = create_flow(name="Lookup", definition={"schema_version": 1, "actions": [lookup, answer]})
    publish_flow(flow)
    failed = execute(create_run(flow, trigger=Run.Trigger.API))
    fix(auth0_standin)
    token = create_token(flow, name="Sign-up service", user=admin_user)[1]
    response = api_retry(failed, token, Prefer="wait=10")
    assert response.status_code == 200 and response["Preference-Applied"] == "wait=10"
    body = response.json()
    assert body["status"] == "succeeded" and body["retry_of"] == failed.pk
    assert body["result"] == {"email": USER["email"]}
    assert json.dumps(body).count('"reused": true') == 0  # nothing succeeded before the failure


def test_a_retry_keeps_allowed_failures_branches_and_variables_as_they_were(
    db, auth0_standin, retried
):
    tenant = auth0_connection(auth0_standin)
    check = logic(
        "check",
        "BOOLEAN_CONDITION",
        **{
            "if": {"operator": "EQUALS", "operands": ["{{ fields.plan }}", "pro"]},
            "then": [{**logic("gold", "STORE_VARS", vars={"tier": "gold"}), "mask_output": True}],
            "else": [logic("basic", "STORE_VARS", vars={"tier": "basic"})],
        },
    )
    steps = [
        {**failing("shaky"), "allow_failure": True},
        check,
        step("get_user", "GET_USER", connection_id=tenant.pk, user_id="auth0|42"),
        logic(
            "answer",
            "RETURN_JSON",
            payload={"tier": "{{ vars.tier }}", "shaky": "{{ actions.shaky.error.message }}"},
        ),
    ]
    flow = create_flow(name="Tiers", definition={"schema_version": 1, "actions": steps})
    run = execute(
        create_run(flow, trigger=Run.Trigger.TEST, input={"fields": {"plan": "pro"}}, draft=True)
    )
    assert run.status == Run.Status.FAILED
    fix(auth0_standin)
    retry = retried(run)
    assert retry.status == Run.Status.SUCCEEDED, retry.error
    kept = records(retry)
    assert {k for k, r in kept.items() if r.reused} == {"shaky", "check", "gold", "basic"}
    assert kept["shaky"].status == StepRun.Status.FAILED
    assert kept["basic"].status == StepRun.Status.SKIPPED
    assert kept["gold"].sealed_output  # a masked output comes along sealed
    assert retry.result["tier"] == "gold" and retry.result["shaky"]


def test_a_run_is_retried_once_at_a_time(failed, retried, auth0_standin):
    queued = retry_run(failed)  # not executed: its worker has not taken it yet
    with pytest.raises(CannotRetry, match=rf"already retried by run #{queued.pk} \(queued\)"):
        retry_run(failed)
    queued.status = Run.Status.FAILED
    queued.save()
    fix(auth0_standin)
    succeeded = retried(failed)  # the earlier retry failed: another one may go
    assert succeeded.status == Run.Status.SUCCEEDED
    with pytest.raises(CannotRetry, match=rf"already retried by run #{succeeded.pk} \(succeeded\)"):
        retry_run(failed)
    assert failed.retries.count() == 2
