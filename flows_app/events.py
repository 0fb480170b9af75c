"""Tell browsers and waiting API callers that a run changed: over the channel layer, after
the change is committed.

Only a shared channel layer (``settings.CHANNEL_LAYER_URL``, i.e. Redis) can carry an event
from a worker process to the web server's websockets; without one the pages poll instead
and this module sends nothing. A broker hiccup is logged and never fails a run.

On the shared (Redis pub/sub) layer, events go out over one Redis connection per process,
every group in one round trip. A run's end (or its going to sleep in a Delay) goes out at
once: API callers wait for it. Progress (a run beginning, a step running or done) is held
back for at most ``HOLD`` seconds and goes out with the next event that goes at once, or
when the hold is up: a 3-step run that takes a few milliseconds makes one round trip to
Redis instead of five, and a page, which fetches the run at most every half second
(static/js/live.js), does not notice. Events arrive in the order they were announced.
"""

import logging
import os
import threading
import time
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import transaction

from flows_app.models import Run, StepRun

log = logging.getLogger(__name__)

EVENT_TYPE = "run.changed"
RUNS_GROUP = "runs"
ENDS_GROUP = "run-ends"  # only runs ending (or going to sleep in a Delay): for waiting callers
ENDED = (*Run.FINAL, Run.Status.WAITING)
SEND_TIMEOUT = 5.0
HOLD = 0.25  # seconds progress may wait to go out with the next event


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def run_changed(run: Run, step: StepRun | None = None) -> None:
    """Announce that ``run`` (and ``step``, if given) was just written, once it is committed.

    Progress of a running run is held back (see the module's doc); anything else, such as
    a run queued, cancelled or ended, goes out at once with whatever is held.
    """
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
    progress = run.status == Run.Status.RUNNING
    transaction.on_commit(lambda: publish(event, hold=progress))


def publish(event: dict[str, Any], *, hold: bool = False) -> None:
    """Send ``event`` to the run's group and to the run list's group, and to the group of
    runs' ends when the run ended; log any failure."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        groups = [run_group(event["run"]), RUNS_GROUP]
        if event["step"] is None and event["status"] in ENDED:
            groups.append(ENDS_GROUP)
        if isinstance(layer, RedisPubSubChannelLayer):
            _publisher.publish(layer, groups, event, hold=hold)
        else:
            async_to_sync(_send)(layer, groups, event)
    except Exception:  # noqa: BLE001  (live progress is a nicety; the run must go on)
        log.warning("Could not announce a change of run %s", event.get("run"), exc_info=True)


async def _send(layer, groups: list[str], event: dict[str, Any]) -> None:
    for group in groups:
        await layer.group_send(group, event)


class _Publisher:
    """Publish to Channels' Redis pub/sub layer over one connection per process.

    The layer's ``group_send`` is a PUBLISH of the serialized message to the group's
    channel; from synchronous code it would need an event loop and a connection of its
    own for every event. This sends the same message to every group in one round trip,
    with the messages held back for it (``hold``): a thread of its own sends those once
    they have waited ``HOLD`` seconds. One lock around taking and sending keeps them in
    order. A forked process (a Celery pool process) opens its own connection, and starts
    its own thread, on first use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the client and the thread
        self._sending = threading.Lock()  # taking the held messages and sending them
        self._client: redis.Redis | None = None
        self._client_pid = 0
        self._thread_pid = 0
        self._held: list[tuple[str, bytes]] = []
        self._held_since = 0.0
        self._wake = threading.Condition()

    def publish(
        self, layer: RedisPubSubChannelLayer, groups: list[str], event: dict, *, hold=False
    ) -> None:
        message = layer.serialize(event)
        messages = [(group_channel(group), message) for group in groups]
        if hold:
            self._hold(messages)
            return
        with self._sending:
            self._send(self._take() + messages)

    def _hold(self, messages: list[tuple[str, bytes]]) -> None:
        self._started()
        with self._wake:
            if not self._held:
                self._held_since = time.monotonic()
                self._wake.notify()
            self._held += messages

    def _take(self) -> list[tuple[str, bytes]]:
        with self._wake:
            messages, self._held = self._held, []
            return messages

    def flush(self) -> None:
        """Send the messages held back, if any."""
        with self._sending:
            messages = self._take()
            if messages:
                self._send(messages)

    def _flush_when_due(self) -> None:
        while True:
            with self._wake:
                while True:  # until the oldest message held has waited HOLD seconds
                    left = self._held_since + HOLD - time.monotonic() if self._held else None
                    if left is not None and left <= 0:
                        break
                    self._wake.wait(left)
            try:
                self.flush()
            except Exception:  # noqa: BLE001  (live progress is a nicety; the thread goes on)
                log.warning("Could not announce the progress of runs", exc_info=True)

    def _send(self, messages: list[tuple[str, bytes]]) -> None:
        pipe = self._redis().pipeline(transaction=False)
        for channel, message in messages:
            pipe.publish(channel, message)
        pipe.execute()

    def _started(self) -> None:
        """Start this process's sending thread, once."""
        with self._lock:
            if self._thread_pid != os.getpid():
                self._thread_pid = os.getpid()
                name = "sluice-events"
                threading.Thread(target=self._flush_when_due, daemon=True, name=name).start()

    def _redis(self) -> redis.Redis:
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                self._client = redis.Redis.from_url(
                    settings.CHANNEL_LAYER_URL,
                    socket_timeout=SEND_TIMEOUT,
                    socket_connect_timeout=SEND_TIMEOUT,
                )
                self._client_pid = os.getpid()
            return self._client


def flush() -> None:
    """Send the progress held back, if any, now (see ``run_changed``)."""
    try:
        _publisher.flush()
    except Exception:  # noqa: BLE001  (live progress is a nicety; the run must go on)
        log.warning("Could not announce a change of a run", exc_info=True)


def group_channel(group: str) -> str:
    """The Redis channel a pub/sub layer group is published on (channels_redis's naming)."""
    return f"{settings.CHANNEL_LAYER_PREFIX}__group__{group}"


_publisher = _Publisher()
