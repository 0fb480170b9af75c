"""Delete finished runs older than the retention period, a batch at a time, the outbox's
messages with them, and the one-time codes past their expiry."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from flows_app import otp
from flows_app.models import Run
from outbox_app import store as outbox

BATCH = 1000


def prune(days: int | None = None, batch: int = BATCH) -> int:
    """Delete finished runs older than ``days`` (default: the setting); return how many.

    Expired one-time codes go too, whatever ``days`` says: they can never verify again. So
    do the outbox's messages of runs that are gone (pruned, or deleted with their flow), and
    outbox messages older than ``days``.
    """
    otp.prune_expired()
    days = settings.RUN_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days) if days > 0 else None
    deleted = _prune_runs(cutoff, batch) if cutoff else 0
    outbox.prune(before=cutoff, runs_kept=Run.objects.values("pk"))
    return deleted


def _prune_runs(cutoff: datetime, batch: int) -> int:
    old = Run.objects.filter(status__in=Run.FINAL, created_at__lt=cutoff)
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        Run.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
