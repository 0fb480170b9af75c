"""Tell browsers and waiting API callers that a run changed: over the channel layer, after
the change is committed.

Only a shared channel layer (``settings.CHANNEL_LAYER_URL``, i.e. Redis) can carry an event
from a worker process to the web server's websockets; without one the pages poll instead
and this module sends nothing. A broker hiccup is logged and never fails a run.

Events go out through one event loop per process, kept in a background thread, so the
layer's Redis connection is opened once and reused, instead of a fresh loop and connection
for every event. The caller still waits until the event is handed to Redis (at most
``SEND_TIMEOUT`` seconds), so events arrive in the order they were announced.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from flows_app.models import Run, StepRun

log = logging.getLogger(__name__)

EVENT_TYPE = "run.changed"
RUNS_GROUP = "runs"
SEND_TIMEOUT = 5.0


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
        _sender.run(_send(layer, [run_group(event["run"]), RUNS_GROUP], event))
    except Exception:  # noqa: BLE001  (live progress is a nicety; the run must go on)
        log.warning("Could not announce a change of run %s", event.get("run"), exc_info=True)


async def _send(layer, groups: list[str], event: dict[str, Any]) -> None:
    for group in groups:
        await layer.group_send(group, event)


class _Sender:
    """One event loop per process, in a daemon thread, for the channel layer's sends.

    A forked process (a Celery pool process) starts a loop of its own on first use: a loop
    and its connections cannot cross a fork.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        try:
            future.result(timeout=SEND_TIMEOUT)
        finally:
            future.cancel()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="sluice-events", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_sender = _Sender()
