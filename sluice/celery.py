"""The Celery application; tasks live in flows_app.tasks and stay thin."""

import logging
import os
from functools import cached_property

from celery import Celery
from celery.apps.beat import Beat
from celery.apps.worker import Worker
from celery.signals import setup_logging, worker_init
from celery.utils.log import get_multiprocessing_logger
from kombu.transport.sqlalchemy import Transport as SQLTransport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sluice.settings")

# The embedded SQL broker polls for messages. kombu's default of once a second caps each
# worker near one run a second, and its polling_interval transport option is handed on to
# SQLAlchemy's create_engine() (which refuses it), so set the interval on the transport.
SQLTransport.polling_interval = 0.1


def _json_logs() -> bool:
    from django.conf import settings

    return settings.LOG_FORMAT == "json"


class QuietWorker(Worker):
    """A worker that leaves out its banner when every line must be JSON."""

    def on_before_init(self, quiet=False, **kwargs):
        super().on_before_init(quiet=quiet or _json_logs(), **kwargs)


class QuietBeat(Beat):
    """``celery beat`` without its banner when every line must be JSON."""

    def __init__(self, *args, quiet: bool = False, **kwargs):
        super().__init__(*args, quiet=quiet or _json_logs(), **kwargs)


class SluiceCelery(Celery):
    @cached_property
    def Worker(self):  # noqa: N802  (Celery's name)
        return self.subclass_with_self("sluice.celery:QuietWorker")

    @cached_property
    def Beat(self):  # noqa: N802  (Celery's name)
        return self.subclass_with_self("sluice.celery:QuietBeat")


# Warnings (Celery's about running as root, say) become log lines in the chosen format.
logging.captureWarnings(True)

app = SluiceCelery("sluice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["flows_app", "audit_app"])


@worker_init.connect
def _refuse_unsafe_start(**kwargs):
    from sluice.checks import refuse_unsafe_start

    refuse_unsafe_start()


@setup_logging.connect
def _log_as_django_does(**kwargs):
    """Keep Django's LOGGING (sluice/settings.py: text or JSON, ids, redaction) in workers and
    beat instead of Celery's own setup; the pool's process messages go the same way."""
    pool_logger = get_multiprocessing_logger()
    if pool_logger is not None:
        pool_logger.handlers = list(logging.getLogger().handlers)
        pool_logger.setLevel(logging.ERROR)
