"""Write to the audit log: :func:`record` is the one way in, for views and commands alike.

The object is kept as it was named at the time (kind, id and label), so an entry still
reads right after the object is renamed or deleted. ``changes`` names what changed, such as
the settings of a vault connection; callers never pass a secret's value. The client's
address comes from the request being answered (``sluice.middleware.request_context``).
"""

import logging
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.utils import timezone

from audit_app.models import VERBS, Entry
from sluice import logs

log = logging.getLogger("sluice.audit")

COMMAND_LINE = "command line"
ANONYMOUS = "anonymous"
BATCH = 1000


class Target(NamedTuple):
    """An object named by hand: a sign-in's typed email, the vault as a whole."""

    id: str = ""
    label: str = ""


def record(actor: Any, verb: str, target: Any = None, changes: dict | None = None) -> Entry:
    """Write one entry: ``actor`` is a person, ``COMMAND_LINE`` or None (anonymous);
    ``target`` a model instance or a :class:`Target`."""
    kind = VERBS[verb][0]
    object_id, object_label = _named(target)
    entry = Entry.objects.create(
        actor=actor if _is_person(actor) else None,
        actor_label=_actor_label(actor)[:254],
        verb=verb,
        kind=kind,
        object_id=object_id[:64],
        object_label=_one_line(object_label)[:254],
        changes=changes or {},
        address=logs.CLIENT_ADDRESS.get(),
    )
    log.info(
        "%s: %s %s %s",
        entry.actor_label,
        verb,
        kind,
        object_id or "-",
        extra={"audit_verb": verb, "audit_object": object_id, "audit_actor": entry.actor_label},
    )
    return entry


def _is_person(actor: Any) -> bool:
    return getattr(actor, "is_authenticated", False) is True and bool(getattr(actor, "pk", None))


def _actor_label(actor: Any) -> str:
    if isinstance(actor, str):
        return actor
    if _is_person(actor):
        return str(actor.email)
    return ANONYMOUS


def _named(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, Target):
        return target.id, target.label
    label = getattr(target, "email", None) or str(target)
    return str(target.pk or ""), label


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def prune(days: int | None = None, batch: int = BATCH) -> int:
    """Delete entries older than ``days`` (default: SLUICE_AUDIT_RETENTION_DAYS; 0 keeps
    all), a batch at a time; return how many."""
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    old = Entry.objects.filter(at__lt=timezone.now() - timedelta(days=days))
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        Entry.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
