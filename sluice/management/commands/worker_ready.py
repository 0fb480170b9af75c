"""Exit 0 when a Celery worker answers a ping through the broker, else 1: a container probe.

It uses Celery's own remote control (``celery inspect ping``), which needs a broker that
broadcasts: Redis does, the embedded SQLite broker does not.
"""

import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Ping a Celery worker through the broker; exit 0 if it answers within the timeout, "
        "1 if not. For a worker container's liveness or readiness probe."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--name",
            default=f"celery@{socket.gethostname()}",
            help="The worker's node name (celery worker -n); default celery@<this host name>.",
        )
        parser.add_argument(
            "--timeout", type=float, default=5.0, help="Seconds to wait for the answer."
        )

    def handle(self, name, timeout, **options):
        if settings.CELERY_BROKER_URL.startswith("sqla+"):
            raise CommandError(
                "The embedded SQLite broker cannot carry a ping; use a Redis broker "
                "(SLUICE_BROKER_URL) to probe workers.",
                returncode=1,
            )
        if _answers(name, timeout):
            self.stdout.write(f"{name} answered.")
            return
        raise CommandError(f"{name} did not answer within {timeout:g} s.", returncode=1)


def _answers(name: str, timeout: float) -> bool:
    from sluice.celery import app

    try:
        replies = app.control.ping(destination=[name], timeout=timeout) or []
    except Exception:  # noqa: BLE001  (a broker that does not answer means "not ready")
        return False
    return any(name in reply and reply[name].get("ok") == "pong" for reply in replies)
