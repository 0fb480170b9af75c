"""Delete finished runs older than the retention period, a batch at a time, and the
one-time codes past their expiry."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from flows_app import otp
from flows_app.models import Run

BATCH = 1000


def prune(days: int | None = None, batch: int = BATCH) -> int:
    """Delete finished runs older than ``days`` (default: the setting); return how many.

    Expired one-time codes go too, whatever ``days`` says: they can never verify again.
    """
    otp.prune_expired()
    days = settings.RUN_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    old = Run.objects.filter(status__in=Run.FINAL, created_at__lt=cutoff)
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        Run.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
