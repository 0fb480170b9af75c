"""The Celery application; tasks live in flows_app.tasks and stay thin."""

import os

from celery import Celery
from celery.signals import worker_init
from kombu.transport.sqlalchemy import Transport as SQLTransport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sluice.settings")

# The embedded SQL broker polls for messages. kombu's default of once a second caps each
# worker near one run a second, and its polling_interval transport option is handed on to
# SQLAlchemy's create_engine() (which refuses it), so set the interval on the transport.
SQLTransport.polling_interval = 0.1

app = Celery("sluice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["flows_app", "audit_app"])


@worker_init.connect
def _refuse_unsafe_start(**kwargs):
    from sluice.checks import refuse_unsafe_start

    refuse_unsafe_start()
