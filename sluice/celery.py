"""The Celery application; tasks live in flows_app.tasks and stay thin."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sluice.settings")

app = Celery("sluice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["flows_app"])


@worker_init.connect
def _refuse_unsafe_start(**kwargs):
    from sluice.checks import refuse_unsafe_start

    refuse_unsafe_start()
