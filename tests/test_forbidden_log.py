"""A refused request leaves one log line saying who tried what and why, not a traceback."""

import logging

import pytest


def request_log(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


@pytest.mark.parametrize(
    "persona, method, path, who, why",
    [
        ("viewer_client", "get", "/vault/", "vera@example.com (viewer)", "Only admins can"),
        ("editor_client", "post", "/vault/providers/", "eddie@example.com (editor)", "Only admins"),
        ("viewer_client", "post", "/flows/new/", "vera@example.com (viewer)", "Viewers can read"),
    ],
)
def test_a_403_is_logged_as_one_line(request, caplog, persona, method, path, who, why):
    caplog.set_level(logging.INFO)
    client = request.getfixturevalue(persona)
    response = getattr(client, method)(path)
    assert response.status_code == 403
    [record] = request_log(caplog)
    message = record.getMessage()
    assert message.startswith(f"Forbidden: {method.upper()} {path} by {who}: {why}")
    assert "\n" not in logging.Formatter().format(record)
    assert "Traceback" not in caplog.text


def test_other_warnings_of_django_request_are_left_alone(admin_client, caplog):
    caplog.set_level(logging.INFO)
    assert admin_client.get("/vault/999999/").status_code == 404
    [record] = request_log(caplog)
    assert record.getMessage() == "Not Found: /vault/999999/"
