from celery import shared_task
from django.conf import settings

from audit_app.records import Target, prune, record

SCHEDULE = "schedule"


@shared_task(ignore_result=True)
def prune_audit() -> int:
    """Delete audit entries past SLUICE_AUDIT_RETENTION_DAYS (the schedule runs it daily)."""
    deleted = prune()
    if deleted:
        changes = {"days": settings.AUDIT_RETENTION_DAYS, "deleted": deleted}
        record(SCHEDULE, "audit.pruned", Target(), changes)
    return deleted
