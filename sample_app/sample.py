"""What a new installation starts with: a published sample flow, a sandbox tenant with two
sample users for it to read, and the outbox to catch what it sends.

The sample flow, "Welcome a new user": Get user (from the sandbox tenant) → If/then on the
user's plan → Send email (Pro) or Send SMS (anyone else) → Return JSON. Its test data is
the Pro user, so a first run ends with an email on the Outbox page.

This module is the one place that knows the sandbox tenant, the vault and flows at once;
none of them imports it.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts_app.models import Role, User
from flows_app.definition import SCHEMA_VERSION
from flows_app.models import Flow
from flows_app.services import create_flow, publish_flow
from sample_app.models import FirstStart
from sandbox_app import users
from sandbox_app.models import SandboxTenant, SandboxUser
from vault_app.kinds import KINDS
from vault_app.models import Connection, Provider, provider, set_provider

FLOW_NAME = "Welcome a new user"
TENANT = "sample"
PEOPLE = (
    {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email_verified": True,
        "app_metadata": {"plan": "pro"},
        "user_metadata": {"language": "en"},
    },
    {
        "email": "grace@example.com",
        "name": "Grace Hopper",
        "given_name": "Grace",
        "family_name": "Hopper",
        "phone_number": "+14155550123",
        "app_metadata": {"plan": "free"},
        "user_metadata": {"language": "en"},
    },
)
FIRST_NAME = {"first_name": "{{ actions.get_user.given_name ?? actions.get_user.nickname }}"}
WELCOME_EMAIL = """<h1>Welcome aboard, {{ custom_vars.first_name }}!</h1>
<p>Your <strong>Pro</strong> plan is ready: every feature is switched on for you.</p>
<p>Questions? Reply to this email and a person will answer.</p>
<p>— The Acme team</p>"""
WELCOME_TEXT = (
    "Hi {{ custom_vars.first_name }}, welcome to Acme! Upgrade to Pro any time from your "
    "account page."
)


@dataclass
class Sample:
    flow: Flow
    tenant: SandboxTenant
    outbox: Connection
    providers: list[str] = field(default_factory=list)  # the roles the outbox was given


def definition(connection_id: int) -> dict[str, Any]:
    """The sample flow, reading users through the vault connection ``connection_id``."""
    email = _step(
        "welcome_email",
        "Email a Pro welcome",
        "SEND_EMAIL",
        to="{{ actions.get_user.email }}",
        custom_vars=FIRST_NAME,
        subject="Welcome to Pro, {{ custom_vars.first_name }}!",
        body=WELCOME_EMAIL,
    )
    text = _step(
        "welcome_sms",
        "Text a welcome",
        "SEND_SMS",
        to="{{ actions.get_user.phone_number }}",
        custom_vars=FIRST_NAME,
        message=WELCOME_TEXT,
    )
    plan = {"operator": "EQUALS", "operands": ["{{ actions.get_user.app_metadata.plan }}", "pro"]}
    actions = [
        _step(
            "get_user",
            "Read the new user",
            "GET_USER",
            connection_id=connection_id,
            user_id="{{ context.user.user_id }}",
        ),
        _step(
            "check_plan",
            "On the Pro plan?",
            "BOOLEAN_CONDITION",
            kind="FLOW",
            **{"if": {"operator": "AND", "operands": [plan]}, "then": [email], "else": [text]},
        ),
        _step(
            "result",
            "Say what was done",
            "RETURN_JSON",
            kind="FLOW",
            payload={
                "user_id": "{{ actions.get_user.user_id }}",
                "plan": "{{ actions.get_user.app_metadata.plan ?? 'free' }}",
                "welcomed_by": "{% if actions.check_plan.result %}email{% else %}text{% endif %}",
            },
        ),
    ]
    return {"schema_version": SCHEMA_VERSION, "actions": actions}


def _step(step_id: str, alias: str, action: str, kind: str = "AUTH0", **params) -> dict:
    return {"id": step_id, "alias": alias, "type": kind, "action": action, "params": params}


@transaction.atomic
def create_sample(owner=None) -> Sample:
    """Make the sample flow, published, with what it needs: the sandbox tenant ``sample``
    and its users, a vault connection to it, and the outbox, which becomes the email and the
    phone provider where none is chosen. What exists already is used as it is."""
    outbox = _outbox()
    given = [purpose for purpose in Provider.Purpose if provider(purpose) is None]
    for purpose in given:
        set_provider(purpose, outbox)
    tenant, people = _tenant()
    connection = _sandbox_connection()
    flow = create_flow(
        name=FLOW_NAME,
        owner=owner,
        description="Reads a user from the sandbox tenant, then emails a Pro user or texts "
        "anyone else through the outbox, and returns what it did. Run it from this page.",
        definition=definition(connection.pk),
        test_data={"context": {"user": {"user_id": people[0]["user_id"]}}},
    )
    publish_flow(flow, owner)
    return Sample(flow, tenant, outbox, [str(purpose) for purpose in given])


def _outbox() -> Connection:
    found = Connection.objects.filter(kind="outbox").order_by("pk").first()
    if found:
        return found
    defaults = {f.name: f.default for f in KINDS["outbox"].fields if f.default is not None}
    return Connection.objects.create(kind="outbox", name=_free_name("Outbox"), config=defaults)


def _sandbox_connection() -> Connection:
    found = Connection.objects.filter(kind="sandbox", config__tenant=TENANT).order_by("pk").first()
    if found:
        return found
    name = _free_name("Sandbox tenant")
    return Connection.objects.create(kind="sandbox", name=name, config={"tenant": TENANT})


def _free_name(name: str) -> str:
    taken = {n.lower() for n in Connection.objects.values_list("name", flat=True)}
    number, candidate = 1, name
    while candidate.lower() in taken:
        number += 1
        candidate = f"{name} {number}"
    return candidate


def _tenant() -> tuple[SandboxTenant, list[dict[str, Any]]]:
    tenant, _ = SandboxTenant.objects.get_or_create(slug=TENANT, defaults={"name": "Sample tenant"})
    people = []
    for person in PEOPLE:
        known = SandboxUser.objects.filter(tenant=tenant, email=person["email"]).first()
        people.append(known.profile if known else users.add_sample(tenant, person))
    return tenant, people


def first_start() -> Sample | None:
    """On the first start only, make the sample; an installation already in use (flows or
    vault connections exist) is left as it is. Return the sample, if one was made."""
    with transaction.atomic():
        if FirstStart.objects.select_for_update().exists():
            return None
        in_use = Flow.objects.exists() or Connection.objects.exists()
        FirstStart.objects.create(set_up=not in_use)
        if in_use:
            return None
        admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
        return create_sample(owner=admin)
