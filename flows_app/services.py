"""Writes to flows go through these functions, each in one transaction."""

import copy
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from flows_app import events, writes
from flows_app.definition import (
    Problem,
    connection_ids,
    new_definition,
    provider_problems,
    validate,
)
from flows_app.models import ConnectionUse, Flow, FlowVersion, Run, StepRun
from flows_app.pins import kept_pins
from vault_app.kinds import family
from vault_app.models import Connection, Provider


class InvalidFlow(Exception):
    """A flow (or an import) has problems; nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class NothingChanged(Exception):
    """The draft is the latest published version as it was: no version was added."""

    def __init__(self, version: FlowVersion):
        super().__init__(f"Nothing changed since v{version.number}.")
        self.version = version


def connection_kinds() -> dict[int, str]:
    """Each vault connection's kind as steps know it (a sandbox tenant is an Auth0 one)."""
    return {pk: family(kind) for pk, kind in Connection.objects.values_list("pk", "kind")}


def problems_of(definition: Any) -> list[Problem]:
    """What keeps a definition from running (and from being imported or pushed)."""
    return validate(definition, connection_kinds=connection_kinds())


_versions: dict[int, FlowVersion] = {}  # published versions this process has read, by id
_sound_versions: set[int] = set()  # published versions this process found without problems


def forget_cached_versions() -> None:
    """Empty this process's memory of published versions (for tests, whose databases give
    out the same ids again)."""
    _versions.clear()
    _sound_versions.clear()


def published_version(pk: int | None) -> FlowVersion | None:
    """A published version by id. A version never changes, so each process reads it once."""
    if pk is None:
        return None
    version = _versions.get(pk)
    if version is None:
        version = FlowVersion.objects.filter(pk=pk).first()
        if version is not None:
            if len(_versions) > 1000:
                _versions.clear()
            _versions[pk] = version
    return version


def version_problems(version: FlowVersion) -> list[Problem]:
    """A published version's problems. A version never changes, so once a process finds it
    sound it does not check again for every run; one with problems is checked each time
    (an admin may fix what it lacks, such as a connection)."""
    if version.pk in _sound_versions:
        return []
    problems = problems_of(version.definition)
    if not problems:
        if len(_sound_versions) > 10_000:
            _sound_versions.clear()
        _sound_versions.add(version.pk)
    return problems


def problems_to_publish(definition: Any) -> list[Problem]:
    """What keeps a draft from being published: its problems, and the steps that cannot
    send because the vault lacks a usable provider. A run of such a step still starts,
    and the step fails saying so (a provider may be removed after publishing, too)."""
    return problems_of(definition) + provider_problems(definition, unusable_providers())


def unusable_providers() -> dict[str, str]:
    """Why each provider role cannot send, by role ("email", "phone"); a usable one is left out."""
    chosen = {p.purpose: p.connection for p in Provider.objects.select_related("connection")}
    unusable = {}
    for purpose, label in Provider.Purpose.choices:
        connection = chosen.get(purpose)
        missing = connection.missing_settings() if connection else []
        if connection is None:
            unusable[purpose] = (
                f"No {label.lower()} is configured, so this step cannot send. "
                "An admin chooses one on the Vault page."
            )
        elif missing:
            unusable[purpose] = (
                f"The {label.lower()}, {connection.name}, is not set up yet "
                f"({', '.join(missing)} missing), so this step cannot send. An admin "
                "completes it on the Vault page."
            )
    return unusable


@transaction.atomic
def create_flow(*, name: str, owner=None, definition=None, test_data=None, description="") -> Flow:
    flow = Flow.objects.create(
        name=name,
        owner=owner,
        description=description,
        draft=definition or new_definition(),
        test_data=test_data or {},
    )
    refresh_connection_uses(flow)
    return flow


def duplicate_flow(flow: Flow, *, owner=None) -> Flow:
    """A new flow with a copy of the draft and test data; versions and runs stay behind."""
    return create_flow(
        name=f"{flow.name} (copy)"[:150],
        owner=owner,
        description=flow.description,
        definition=copy.deepcopy(flow.draft),
        test_data=copy.deepcopy(flow.test_data),
    )


@transaction.atomic
def save_draft(flow: Flow, definition: dict, test_data: dict | None = None) -> list[Problem]:
    """Save the draft as it is (problems and all) and return its problems. Pins of steps
    the draft no longer has are dropped."""
    definition = kept_pins(definition)
    flow.draft = definition
    if test_data is not None:
        flow.test_data = test_data
    flow.save()
    refresh_connection_uses(flow)
    return problems_of(definition)


UNDO_DEPTH = 20


@transaction.atomic
def edit_draft(flow: Flow, definition: dict, *, amend: bool = False) -> list[Problem]:
    """Save an edit from the editor, keeping the previous draft for Undo; an edit drops the
    drafts Redo could bring back. With ``amend`` the edit joins the last one in the history
    (more typing in the same field), so Undo takes both back at once."""
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    if definition != flow.draft:
        if not (amend and flow.undo):
            flow.undo = _pushed(flow.undo, flow.draft)
        flow.redo = []
    return save_draft(flow, definition)


def undo_edit(flow: Flow) -> bool:
    """Put the previous draft back; False when there is nothing to undo."""
    return _step_back(flow, "undo", "redo")


def redo_edit(flow: Flow) -> bool:
    """Put the last undone draft back; False when there is nothing to redo."""
    return _step_back(flow, "redo", "undo")


@transaction.atomic
def _step_back(flow: Flow, taken_from: str, kept_in: str) -> bool:
    """Make the newest draft of history ``taken_from`` the draft, keeping the current one
    in history ``kept_in``."""
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    history = getattr(flow, taken_from)
    if not history:
        return False
    draft = history.pop()
    setattr(flow, kept_in, _pushed(getattr(flow, kept_in), flow.draft))
    save_draft(flow, draft)
    return True


def _pushed(history: list, draft: dict) -> list:
    """The history with ``draft`` as its newest entry, the oldest dropped past the limit."""
    return [*history[-(UNDO_DEPTH - 1) :], draft]


def refresh_connection_uses(flow: Flow) -> None:
    """Record the connections the draft and the latest published version use."""
    ids = connection_ids(flow.draft)
    latest = flow.latest_version()
    if latest:
        ids |= connection_ids(latest.definition)
    existing = set(Connection.objects.filter(pk__in=ids).values_list("pk", flat=True))
    flow.connection_uses.exclude(connection__in=existing).delete()
    for connection_id in existing:
        ConnectionUse.objects.get_or_create(flow=flow, connection_id=connection_id)


@transaction.atomic
def publish_flow(flow: Flow, user=None) -> FlowVersion:
    """Freeze the draft as the next version; refuse a draft with problems, and add none
    when the draft is the latest version unchanged."""
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    problems = problems_to_publish(flow.draft)
    if problems:
        raise InvalidFlow(problems)
    latest = flow.latest_version()
    if latest is not None and latest.definition == flow.draft:
        raise NothingChanged(latest)
    number = (flow.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = FlowVersion.objects.create(
        flow=flow, number=number, definition=copy.deepcopy(flow.draft), created_by=user
    )
    refresh_connection_uses(flow)
    return version


def create_run(
    flow: Flow,
    *,
    trigger: str,
    input: dict | None = None,
    user=None,
    draft: bool = False,
    version: FlowVersion | None = None,
) -> Run:
    """Queue a run of ``version``, else of the latest published version, or of the draft
    when asked or unpublished."""
    version = version or (None if draft else flow.latest_version())
    definition = version.definition if version else flow.draft
    problems = version_problems(version) if version else problems_of(definition)
    if problems:
        raise InvalidFlow(problems)
    run = Run(
        flow=flow,
        version=version,
        version_number=version.number if version else None,
        definition=copy.deepcopy(definition),
        trigger=trigger,
        input=input if input is not None else copy.deepcopy(flow.test_data),
        created_by=user,
    )
    writes.save(run)  # as Run.objects.create would, for less: every API start makes one
    return run


def start_run(
    flow: Flow,
    *,
    trigger: str,
    input: dict | None = None,
    user=None,
    draft: bool = False,
    version: FlowVersion | None = None,
) -> Run:
    """Queue a run (one INSERT) and hand it to a worker once that is committed."""
    from flows_app.tasks import enqueue

    run = create_run(flow, trigger=trigger, input=input, user=user, draft=draft, version=version)
    events.run_changed(run)
    transaction.on_commit(lambda: enqueue(run.pk))
    return run


def cancel_run(run: Run, user=None) -> bool:
    """Cancel a queued or waiting run at once, or ask a running one to stop before its next
    step.

    Returns False when the run had already finished.
    """
    now = timezone.now()
    email = getattr(user, "email", None)
    who = f" by {email}" if email else ""
    queued = Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
        status=Run.Status.CANCELLED,
        finished_at=now,
        cancel_requested_at=now,
        cancelled_by=user,
        error="Cancelled before it started.",
    )
    waiting = Run.objects.filter(pk=run.pk, status=Run.Status.WAITING).update(
        status=Run.Status.CANCELLED,
        finished_at=now,
        resume_at=None,
        cancel_requested_at=now,
        cancelled_by=user,
        error=f"Cancelled{who} while waiting in a delay; the steps after it did not run.",
    )
    if waiting:
        run.steps.filter(status=StepRun.Status.WAITING).update(
            status=StepRun.Status.CANCELLED, finished_at=now, error="Cancelled while waiting."
        )
    stopped = queued or waiting
    running = stopped or Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        cancel_requested_at=now,
        cancelled_by=user,
    )
    run.refresh_from_db()
    if running:
        events.run_changed(run)
    return bool(running)
