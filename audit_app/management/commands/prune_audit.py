from django.conf import settings
from django.core.management.base import BaseCommand

from audit_app.records import BATCH, COMMAND_LINE, Target, prune, record


class Command(BaseCommand):
    help = "Delete audit entries older than SLUICE_AUDIT_RETENTION_DAYS, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.AUDIT_RETENTION_DAYS,
            help="Keep entries younger than this many days (0 keeps all).",
        )
        parser.add_argument("--batch", type=int, default=BATCH)

    def handle(self, days, batch, **options):
        if days <= 0:
            self.stdout.write("Retention is off (0 days): nothing deleted.")
            return
        deleted = prune(days, batch)
        record(COMMAND_LINE, "audit.pruned", Target(), {"days": days, "deleted": deleted})
        noun = "entry" if deleted == 1 else "entries"
        self.stdout.write(f"Deleted {deleted} audit {noun} older than {days} day(s).")
