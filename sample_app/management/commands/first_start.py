"""Set up the sample on the embedded default's first start, and say so."""

from django.conf import settings
from django.core.management.base import BaseCommand

from sample_app.sample import first_start


class Command(BaseCommand):
    help = (
        "On the embedded default's first start, make the published sample flow, the sandbox "
        "tenant it reads and the outbox it sends to. Does nothing on later starts, in an "
        "installation already in use, or in production."
    )

    def handle(self, **options):
        if settings.PRODUCTION:
            return
        sample = first_start()
        if sample is None:
            return
        roles = " and ".join(sample.providers)
        caught = f" (now the {roles} provider)" if roles else ""
        self.stdout.write(
            f"Set up the sample flow “{sample.flow.name}”: it reads a user from the sandbox "
            f"tenant “{sample.tenant.name}” ({sample.tenant.users.count()} sample users) and "
            f"emails or texts them through the {sample.outbox.name}{caught}.\n"
            f"Try it: open {settings.PUBLIC_URL}/flows/{sample.flow.pk}/ and press Run; the "
            f"email lands in {settings.PUBLIC_URL}/outbox/."
        )
