"""Keep a message in the outbox, and let messages go with the runs that sent them."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from outbox_app.models import OutboxMessage

MAX_BYTES = 256 * 1024  # an email with its headers and both parts; a text; a call's TwiML


class TooLarge(ValueError):
    """The message is larger than the outbox keeps; nothing was kept."""

    def __init__(self, size: int):
        super().__init__(
            f"The message is {size / 1024:,.0f} KB; the outbox keeps messages of up to "
            f"{MAX_BYTES // 1024} KB, so it was not kept. Shorten the message."
        )
        self.size = size


def keep(*, size: int, **fields: Any) -> OutboxMessage:
    """Store one message (fields as ``OutboxMessage`` names them); refuse one too large."""
    if size > MAX_BYTES:
        raise TooLarge(size)
    return OutboxMessage.objects.create(size=size, **fields)


def prune(*, before: datetime | None, runs_kept: QuerySet) -> int:
    """Delete the messages of runs that are gone (``runs_kept`` are the ids of those that
    are not) and, with ``before``, every message older than that; return how many."""
    gone = OutboxMessage.objects.filter(run_id__isnull=False).exclude(run_id__in=runs_kept)
    deleted = gone.delete()[0]
    if before is not None:
        deleted += OutboxMessage.objects.filter(created_at__lt=before).delete()[0]
    return deleted
