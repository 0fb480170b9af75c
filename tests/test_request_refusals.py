"""A request a step's values make unsafe or impossible fails the step with a clear message.

The values come from the run's input through templates, where saving the flow cannot
see them; the client refuses them before anything is sent, and the run says why instead
of "Internal error" and a traceback in the log.
"""

import json
import logging

import pytest

from flows_app.models import Run
from tests.flow_helpers import auth0_connection, run_steps, step

ORGANIZATIONS = "/api/v2/organizations"


def custom_request(tenant, **params) -> dict:
    return step(
        "call", "SEND_REQUEST", connection_id=tenant.pk, pathname=ORGANIZATIONS, method="GET",
        **params,
    )  # fmt: skip


def api_calls(standin) -> list:
    return [r for r in standin.requests if r.path.startswith("/api/v2/")]


def assert_failed_cleanly(run, message, caplog) -> None:
    assert run.status == Run.Status.FAILED
    assert message in run.error
    assert "Internal error" not in run.error
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "value",
    [
        "line\u2028separator",
        "para\u2029separator",
        "a\r\nX-Injected: yes",
        "new\nline",
        "escape\x1b[0m",
    ],
)
def test_a_header_value_with_a_line_break_fails_the_step_clearly(db, auth0_standin, caplog, value):
    tenant = auth0_connection(auth0_standin)

    run = run_steps(
        custom_request(tenant, headers={"X-Trace": "{{ context.trace }}"}),
        input={"context": {"trace": value}},
    )

    assert_failed_cleanly(
        run, "The X-Trace header may hold only printable ASCII characters.", caplog
    )
    assert api_calls(auth0_standin) == []


def test_an_object_header_value_is_sent_as_json(db, auth0_standin):
    tenant = auth0_connection(auth0_standin)

    run = run_steps(
        custom_request(tenant, headers={"X-Context": "{{ context.meta }}"}),
        input={"context": {"meta": {"a": 1, "name": "José", "tags": ["x"]}}},
    )

    assert run.status == Run.Status.SUCCEEDED, run.error
    [request] = api_calls(auth0_standin)
    sent = request.header("x-context")
    assert "'" not in sent  # not Python's text for a dict
    assert json.loads(sent) == {"a": 1, "name": "José", "tags": ["x"]}


def test_an_object_url_param_fails_the_step_clearly(db, auth0_standin, caplog):
    tenant = auth0_connection(auth0_standin)

    run = run_steps(
        custom_request(tenant, params={"q": "{{ context.meta }}"}),
        input={"context": {"meta": {"a": 1}}},
    )

    assert_failed_cleanly(run, "URL Param 'q' must be text or a number, not dict.", caplog)
    assert api_calls(auth0_standin) == []


@pytest.mark.parametrize(
    ("user_id", "message"),
    [("..", "may not be or contain . or .. path segments"), ("a\x1bb", "control characters")],
)
def test_a_user_id_that_would_change_the_path_fails_the_step_clearly(
    db, auth0_standin, caplog, user_id, message
):
    tenant = auth0_connection(auth0_standin)

    run = run_steps(
        step("get", "GET_USER", connection_id=tenant.pk, user_id="{{ context.user_id }}"),
        input={"context": {"user_id": user_id}},
    )

    assert_failed_cleanly(run, message, caplog)
    assert api_calls(auth0_standin) == []


def test_secrets_the_vault_keys_cannot_open_fail_the_step_clearly(db, auth0_standin, caplog):
    tenant = auth0_connection(auth0_standin)
    tenant.secrets_token = "sealed-with-a-key-since-removed"
    tenant.save()

    run = run_steps(step("get", "GET_USER", connection_id=tenant.pk, user_id="auth0|1"))

    assert_failed_cleanly(run, "cannot be decrypted with the configured vault keys", caplog)
    assert "Enter the secrets again." in run.error
    assert auth0_standin.requests == []
