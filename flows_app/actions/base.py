"""What an action type declares: its inputs, how they render, and its run()."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from vault_app.kinds import kinds_for
from vault_app.models import Connection, provider

# Input kinds: how the editor shows an input, how it is validated and how it renders.
TEXT = "text"  # a plain value, never rendered (an id, a fixed string)
TEMPLATE = "template"  # Liquid text
HTML_TEMPLATE = "html-template"  # Liquid HTML; variables are escaped
JSON_TEMPLATE = "json-template"  # JSON whose string leaves are Liquid (a lone {{ x }} keeps type)
KEY_VALUE = "key-value"  # an object of name -> Liquid value (headers, URL params, variables)
CHOICE = "choice"
BOOL = "bool"
CONNECTION = "connection"  # a vault connection of a given kind
SENDER = "sender"  # {"email", "name"}: present only when a custom sender is wanted
CONDITION = "condition"  # If/then's condition tree (flows_app.conditions); operands are Liquid
BRANCH = "branch"  # a list of steps run by If/then; the engine runs it, not the action
NUMBER = "number"  # a whole number, never rendered
TEMPLATE_OR_NUMBER = "template-or-number"  # Liquid text (a lone {{ x }} keeps type), or a number
XML_TEMPLATE = "xml-template"  # Liquid XML (TwiML); variables are escaped
OPTIONS = "options"  # an object of named switches and lists, declared as the input's ``parts``
TEXT_LIST = "text-list"  # a list of text, one item a line (only as a part of OPTIONS)

RENDERED_KINDS = {
    TEMPLATE,
    HTML_TEMPLATE,
    JSON_TEMPLATE,
    KEY_VALUE,
    SENDER,
    TEMPLATE_OR_NUMBER,
    XML_TEMPLATE,
}


@dataclass(frozen=True)
class Input:
    """One input setting, stored in the step's ``params`` under ``name``."""

    name: str
    label: str
    kind: str = TEMPLATE
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None
    connection_kind: str | None = None
    max_length: int | None = None
    uses_custom_vars: bool = False  # rendered with {{ custom_vars.* }} in scope
    keeps_type: bool = False  # a template: a lone {{ expression }} keeps its type
    text_allowed: bool = False  # a JSON input that may also be text (typed without quotes)
    secret: bool = False  # its rendered value is redacted from run records (a one-time code)
    parts: tuple["Input", ...] = ()  # the keys of an OPTIONS input


@dataclass(frozen=True)
class OutputField:
    """A documented field of an action's output, read as ``actions.<id>.<path>``.

    ``path`` is a Liquid path below the step's output (``email``, ``app_metadata.plan``,
    ``identities[0].provider``); the variable picker lists it, with ``description``, for a
    step that has no output in the latest test run.
    """

    path: str
    description: str


# What later steps read of a step that failed with allow_failure on (see flows_app.engine).
FAILURE_FIELDS = (
    OutputField("error.message", "Why the step failed, when it failed."),
    OutputField("error.status", "The vendor's HTTP status, or null."),
    OutputField("error.body", "The vendor's error body, or null."),
)


@dataclass(frozen=True)
class StepOutcome:
    """What a step produced: its output for later steps, the vendor's HTTP status, and
    what the run page shows besides (``detail``)."""

    output: Any
    http_status: int | None = None
    detail: dict[str, Any] | None = None  # for the run record only (a condition's checks)


class StepFailed(Exception):
    """A step could not do its work; ``body`` keeps the vendor's error for the run record."""

    def __init__(self, message: str, *, body: Any = None, status: int | None = None):
        super().__init__(message)
        self.body = body
        self.status = status


@dataclass(frozen=True)
class ActionType:
    """An action type, declared once: the editor, validation and docs derive from it."""

    type: str  # Auth0's `type`, e.g. "AUTH0"
    action: str  # Auth0's `action`, e.g. "GET_USER"
    group: str
    label: str
    description: str
    inputs: tuple[Input, ...]
    output: str  # one sentence about the output, for the docs
    run: Callable[[dict[str, Any], "StepContext"], StepOutcome]
    extra: dict = field(default_factory=dict)
    # The output's documented shape; an output whose fields the step's params name (Store
    # shared variables) derives them in ``output_fields_from(params)`` instead.
    output_fields: tuple[OutputField, ...] = ()
    output_fields_from: Callable[[dict[str, Any]], tuple[OutputField, ...]] | None = None
    provider: str | None = None  # "email" or "phone": the vault provider role run() uses

    @property
    def key(self) -> str:
        return f"{self.type}/{self.action}"

    def input(self, name: str) -> Input | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def documented_output(self, params: Any) -> tuple[OutputField, ...]:
        """The fields a step of this action outputs, as declared."""
        if self.output_fields_from is None:
            return self.output_fields
        return self.output_fields_from(params if isinstance(params, dict) else {})


class StepContext:
    """What an action may reach besides its inputs: the vault, by id or by provider role,
    and ``http``, the HTTP client for vendor APIs (its connections kept alive from step to
    step and run to run), when there is one."""

    def __init__(
        self,
        *,
        step_id: str,
        run_id: int | None = None,
        http: httpx.Client | None = None,
        connections: dict[int, Connection] | None = None,
    ):
        self.step_id = step_id
        self.run_id = run_id
        self.http = http
        self.connections = connections or {}  # already read for this run, by id

    def connection(self, connection_id: Any, kind: str) -> Connection:
        try:
            pk = int(connection_id)
            connection = self.connections.get(pk) or Connection.objects.get(pk=pk)
            if connection.kind not in kinds_for(kind):
                raise Connection.DoesNotExist
        except (Connection.DoesNotExist, TypeError, ValueError):
            raise StepFailed(
                f"The {kind} connection this step uses ({connection_id}) does not exist."
            ) from None
        return _complete(connection)

    def provider(self, purpose: str) -> Connection:
        connection = provider(purpose)
        if connection is None:
            what = "email provider" if purpose == "email" else "phone provider"
            raise StepFailed(f"No {what} is configured. An admin chooses one on the Vault page.")
        return _complete(connection)


def _complete(connection: Connection) -> Connection:
    missing = connection.missing_settings()
    if missing:
        raise StepFailed(
            f"The connection {connection.name} is not set up yet ({', '.join(missing)} "
            "missing); an admin completes it in the vault."
        )
    return connection
