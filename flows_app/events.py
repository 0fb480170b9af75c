"""Tell browsers that a run changed: over the channel layer, after the change is committed.

Only a shared channel layer (``settings.CHANNEL_LAYER_URL``, i.e. Redis) can carry an event
from a worker process to the web server's websockets; without one the pages poll instead
and this module sends nothing. A broker hiccup is logged and never fails a run.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from flows_app.models import Run, StepRun

log = logging.getLogger(__name__)

EVENT_TYPE = "run.changed"
RUNS_GROUP = "runs"


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def run_changed(run: Run, step: StepRun | None = None) -> None:
    """Announce that ``run`` (and ``step``, if given) was just written, once it is committed."""
    if not settings.CHANNEL_LAYER_URL:
        return
    event = {
        "type": EVENT_TYPE,
        "run": run.pk,
        "flow": run.flow_id,
        "status": run.status,
        "step": step.step_id if step else None,
        "step_status": step.status if step else None,
    }
    transaction.on_commit(lambda: publish(event))


def publish(event: dict[str, Any]) -> None:
    """Send ``event`` to the run's group and to the run list's group; log any failure."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(_send)(layer, [run_group(event["run"]), RUNS_GROUP], event)
    except Exception:  # noqa: BLE001  (live progress is a nicety; the run must go on)
        log.warning("Could not announce a change of run %s", event.get("run"), exc_info=True)


async def _send(layer, groups: list[str], event: dict[str, Any]) -> None:
    for group in groups:
        await layer.group_send(group, event)
