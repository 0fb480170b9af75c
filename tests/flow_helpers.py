"""Builders for flows and the vault connections they use, against the stand-ins."""

from flows_app.engine import execute
from flows_app.models import Run
from flows_app.services import create_flow, create_run
from vault_app.models import Connection, set_provider

SPEC_PATH = "/api/v2/users/{{ functions.encodeURIComponent(context.user.user_id) }}"


def connection(kind: str, name: str, credentials: dict) -> Connection:
    from vault_app.kinds import KINDS

    spec = KINDS[kind]
    secrets = {n: credentials.get(n) or "" for n in spec.secret_names}
    config = {
        f.name: credentials[f.name]
        for f in spec.plain_fields
        if credentials.get(f.name) not in (None, "")
    }
    record = Connection(kind=kind, name=name, config=config)
    record.set_secrets(secrets)
    record.save()
    return record


def auth0_connection(standin, name="Acme tenant") -> Connection:
    return connection("auth0", name, standin.credentials())


def email_provider(standin, name="Mail relay") -> Connection:
    record = connection("smtp", name, standin.credentials())
    set_provider("email", record)
    return record


def phone_provider(standin, name="Twilio main") -> Connection:
    record = connection("twilio", name, standin.credentials())
    set_provider("phone", record)
    return record


def step(step_id: str, action: str, alias: str | None = None, **params) -> dict:
    data = {"id": step_id, "type": "AUTH0", "action": action, "params": params}
    if alias:
        data["alias"] = alias
    return data


def run_steps(*steps, input=None, name="Test flow") -> Run:
    """Create a flow from steps, run its draft synchronously and return the finished run."""
    flow = create_flow(name=name, definition={"schema_version": 1, "actions": list(steps)})
    run = create_run(flow, trigger=Run.Trigger.TEST, input=input or {}, draft=True)
    return execute(run)


def user_input(**user) -> dict:
    return {"context": {"user": {"user_id": "auth0|123", "email": "ada@example.com", **user}}}
