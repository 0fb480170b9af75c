"""Tell browsers and waiting API callers that a run changed: over the channel layer, after
the change is committed.

Only a shared channel layer (``settings.CHANNEL_LAYER_URL``, i.e. Redis) can carry an event
from a worker process to the web server's websockets; without one the pages poll instead
and this module sends nothing. A broker hiccup is logged and never fails a run.

On the shared (Redis pub/sub) layer, events go out over one Redis connection per process,
both groups in one round trip, instead of a fresh event loop and connection for every
event. The caller waits until Redis has them (at most ``SEND_TIMEOUT`` seconds), so events
arrive in the order they were announced.
"""

import logging
import os
import threading
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


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def run_changed(run: Run, step: StepRun | None = None, *, more_soon: bool = False) -> None:
    """Announce that ``run`` (and ``step``, if given) was just written, once it is committed.

    ``more_soon``: another announcement of this process follows at once (a step's outcome
    is written with the next step's record, or the run's end): the two go out together,
    in order, in one round trip to Redis. ``flush`` sends one held back in any case.
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
    transaction.on_commit(lambda: publish(event, hold=more_soon))


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
    with the messages held back for it (``hold``), in the order they were announced. A
    forked process (a Celery pool process) opens its own connection on first use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None
        self._pid = 0
        self._held = threading.local()

    def publish(
        self, layer: RedisPubSubChannelLayer, groups: list[str], event: dict, *, hold=False
    ) -> None:
        message = layer.serialize(event)
        messages = self.held() + [(group_channel(group), message) for group in groups]
        if hold:
            self._held.messages = messages
            return
        self._send(messages)

    def held(self) -> list[tuple[str, bytes]]:
        """Take the messages this thread holds back."""
        messages = getattr(self._held, "messages", None) or []
        self._held.messages = []
        return messages

    def flush(self) -> None:
        """Send the messages this thread holds back, if any."""
        messages = self.held()
        if messages:
            self._send(messages)

    def _send(self, messages: list[tuple[str, bytes]]) -> None:
        pipe = self._redis().pipeline(transaction=False)
        for channel, message in messages:
            pipe.publish(channel, message)
        pipe.execute()

    def _redis(self) -> redis.Redis:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = redis.Redis.from_url(
                    settings.CHANNEL_LAYER_URL,
                    socket_timeout=SEND_TIMEOUT,
                    socket_connect_timeout=SEND_TIMEOUT,
                )
                self._pid = os.getpid()
            return self._client


def flush() -> None:
    """Send the announcement this thread held back, if any (see ``run_changed``)."""
    try:
        _publisher.flush()
    except Exception:  # noqa: BLE001  (live progress is a nicety; the run must go on)
        log.warning("Could not announce a change of a run", exc_info=True)


def group_channel(group: str) -> str:
    """The Redis channel a pub/sub layer group is published on (channels_redis's naming)."""
    return f"{settings.CHANNEL_LAYER_PREFIX}__group__{group}"


_publisher = _Publisher()
