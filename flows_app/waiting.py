"""Wait, in an async view, for a run to end, without a thread per waiting request.

A run "ends" for a waiting caller when it is final or asleep in a Delay. With a shared
channel layer (Redis), workers announce every run's end to one group (``ENDS_GROUP``, see
flows_app.events), and one listener per web process and event loop, subscribed to it for as
long as the process lives, wakes the callers waiting for those runs: no database polling,
and no subscription per request. Without one (the embedded default: the worker is another
process, which the in-memory layer cannot reach), one task per process and event loop
checks every waited-for run in a single query every ``POLL_INTERVAL`` seconds.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from flows_app.events import ENDED, ENDS_GROUP
from flows_app.models import Run

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.05  # seconds, embedded default only
# A run started before the listener had subscribed, or within SETTLE seconds after, may
# have ended unheard: look at it once. Every caller looks once more after SECOND_LOOK, in
# case an announcement was lost (Redis restarted, say).
SETTLE = 0.5
SECOND_LOOK = 1.0


async def wait_for_end(run_id: int, timeout: float, asked_at: float) -> bool:
    """Whether the run ended (or went to sleep in a Delay) within ``timeout`` seconds;
    ``asked_at`` is when (``time.monotonic()``) the caller asked, before the run existed."""
    if settings.CHANNEL_LAYER_URL:
        return await _listener().wait(run_id, timeout, asked_at)
    return await _poller().wait(run_id, timeout)


def _has_ended(run_id: int) -> bool:
    return Run.objects.filter(pk=run_id, status__in=ENDED).exists()


def _ended_among(run_ids: list[int]) -> set[int]:
    return set(Run.objects.filter(pk__in=run_ids, status__in=ENDED).values_list("pk", flat=True))


class _Waiters:
    """The callers of one event loop, by the run each waits for, and the task that wakes them."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.waiters: dict[int, set[asyncio.Future]] = {}
        self.task: asyncio.Task | None = None

    @contextlib.contextmanager
    def waiting(self, run_id: int) -> Iterator[asyncio.Future]:
        """A future done once the run is heard to end, for as long as the caller waits."""
        ended = self.loop.create_future()
        self.waiters.setdefault(run_id, set()).add(ended)
        try:
            yield ended
        finally:
            waiting = self.waiters.get(run_id, set())
            waiting.discard(ended)
            if not waiting:
                self.waiters.pop(run_id, None)


class _Listener(_Waiters):
    """Listens to the announcements of runs' ends, for every caller of one event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribed_at: float | None = None

    async def wait(self, run_id: int, timeout: float, asked_at: float) -> bool:
        if self.task is None or self.task.done():
            self.subscribed_at = None
            self.task = asyncio.ensure_future(self._listen())
        with self.waiting(run_id) as ended:
            heard = self.subscribed_at is not None and self.subscribed_at + SETTLE <= asked_at
            if not heard and await sync_to_async(_has_ended)(run_id):
                return True
            first = min(SECOND_LOOK, timeout)
            if await _within(ended, first):
                return True
            if timeout <= first:
                return False
            return await sync_to_async(_has_ended)(run_id) or await _within(ended, timeout - first)

    async def _listen(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        try:
            await layer.group_add(ENDS_GROUP, channel)
            self.subscribed_at = time.monotonic()
            while True:
                event = await layer.receive(channel)
                for ended in self.waiters.get(event.get("run"), set()):
                    if not ended.done():
                        ended.set_result(True)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001  (callers still look at their run; the next listens again)
            log.warning("Stopped listening for the ends of runs", exc_info=True)
        finally:
            self.subscribed_at = None
            with contextlib.suppress(Exception):  # the subscription went with the connection
                await layer.group_discard(ENDS_GROUP, channel)


async def _within(ended: asyncio.Future, seconds: float) -> bool:
    """Whether the run was heard to end within ``seconds``."""
    done, _ = await asyncio.wait({ended}, timeout=seconds)
    return bool(done)


class _Poller(_Waiters):
    """Checks the runs its waiters wait for, all in one query, while anyone waits."""

    async def wait(self, run_id: int, timeout: float) -> bool:
        with self.waiting(run_id) as ended:
            if self.task is None or self.task.done():
                self.task = asyncio.ensure_future(self._poll())
            try:
                await asyncio.wait_for(ended, timeout)
                return True
            except TimeoutError:
                return False

    async def _poll(self) -> None:
        while self.waiters:
            for run_id in await sync_to_async(_ended_among)(list(self.waiters)):
                for ended in self.waiters.pop(run_id, set()):
                    if not ended.done():
                        ended.set_result(True)
            await asyncio.sleep(POLL_INTERVAL)


# One listener and one poller per process, for the event loop that serves (daphne has one).
# Another loop (a test's) gets its own, which replaces the one before: kept by loop in a
# dictionary, each would keep its loop alive through its task.
_current: dict[type, _Waiters] = {}


def _listener() -> _Listener:
    return _for_this_loop(_Listener)


def _poller() -> _Poller:
    return _for_this_loop(_Poller)


def _for_this_loop[T: _Waiters](kind: type[T]) -> T:
    current = _current.get(kind)
    if not isinstance(current, kind) or current.loop is not asyncio.get_running_loop():
        current = kind()
        _current[kind] = current
    return current
