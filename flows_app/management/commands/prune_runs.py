from django.conf import settings
from django.core.management.base import BaseCommand

from flows_app.retention import BATCH, prune


class Command(BaseCommand):
    help = "Delete finished runs older than SLUICE_RUN_RETENTION_DAYS, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.RUN_RETENTION_DAYS,
            help="Keep runs younger than this many days (0 keeps all).",
        )
        parser.add_argument("--batch", type=int, default=BATCH)

    def handle(self, days, batch, **options):
        deleted = prune(days, batch)
        self.stdout.write(
            f"Deleted {deleted} finished run(s) older than {days} day(s)."
            if days > 0
            else "Retention is off (0 days): nothing deleted."
        )
