"""Wait, in an async view, for a run to end, without a thread per waiting request.

A run "ends" for a waiting caller when it is final or asleep in a Delay. With a shared
channel layer (Redis), the waiter joins the run's group and the worker's own progress events
(flows_app.events) wake it the moment the run ends: no database polling. Without one (the
embedded default: the worker is another process, which the in-memory layer cannot reach),
one task per process and event loop checks every waited-for run in a single query every
``POLL_INTERVAL`` seconds.
"""

import asyncio
import logging
import weakref

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from flows_app.events import run_group
from flows_app.models import Run

log = logging.getLogger(__name__)

ENDED = (*Run.FINAL, Run.Status.WAITING)
POLL_INTERVAL = 0.05  # seconds, embedded default only
# Joining the run's group and the worker announcing the end race each other: look at the
# run once after joining, and once more after this long, in case the announcement went out
# before Redis had the subscription.
SECOND_LOOK = 1.0


async def wait_for_end(run_id: int, timeout: float) -> bool:
    """Whether the run ended (or went to sleep in a Delay) within ``timeout`` seconds."""
    if settings.CHANNEL_LAYER_URL:
        return await _wait_on_layer(run_id, timeout)
    return await _poller().wait(run_id, timeout)


def _has_ended(run_id: int) -> bool:
    return Run.objects.filter(pk=run_id, status__in=ENDED).exists()


def _ended_among(run_ids: list[int]) -> set[int]:
    return set(Run.objects.filter(pk__in=run_ids, status__in=ENDED).values_list("pk", flat=True))


async def _wait_on_layer(run_id: int, timeout: float) -> bool:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = run_group(run_id)
    await layer.group_add(group, channel)
    heard = asyncio.ensure_future(_ending_event(layer, channel))
    try:
        first = min(SECOND_LOOK, timeout)
        if await sync_to_async(_has_ended)(run_id) or await _within(heard, first):
            return True
        if timeout <= first:
            return False
        return await sync_to_async(_has_ended)(run_id) or await _within(heard, timeout - first)
    finally:
        heard.cancel()
        await layer.group_discard(group, channel)


async def _within(listening: asyncio.Future, seconds: float) -> bool:
    """Whether the listener heard the run end within ``seconds``."""
    done, _ = await asyncio.wait({listening}, timeout=seconds)
    if done and listening.exception() is not None:
        log.warning("Stopped listening for the end of a run: %r", listening.exception())
        return False
    return bool(done)


async def _ending_event(layer, channel: str) -> None:
    while (await layer.receive(channel)).get("status") not in ENDED:
        pass


class _Poller:
    """Checks the runs its waiters wait for, all in one query, while anyone waits."""

    def __init__(self) -> None:
        self.waiters: dict[int, set[asyncio.Future]] = {}
        self.task: asyncio.Task | None = None

    async def wait(self, run_id: int, timeout: float) -> bool:
        ended = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(run_id, set()).add(ended)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._poll())
        try:
            await asyncio.wait_for(ended, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self.waiters.get(run_id, set())
            waiting.discard(ended)
            if not waiting:
                self.waiters.pop(run_id, None)

    async def _poll(self) -> None:
        while self.waiters:
            for run_id in await sync_to_async(_ended_among)(list(self.waiters)):
                for ended in self.waiters.pop(run_id, set()):
                    if not ended.done():
                        ended.set_result(True)
            await asyncio.sleep(POLL_INTERVAL)


_pollers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Poller]" = (
    weakref.WeakKeyDictionary()
)


def _poller() -> _Poller:
    loop = asyncio.get_running_loop()
    if loop not in _pollers:
        _pollers[loop] = _Poller()
    return _pollers[loop]
