"""Interrupt a step that takes too long, with a timer signal."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StepTimedOut(Exception):
    pass


@contextmanager
def step_deadline(seconds: float | None) -> Iterator[None]:
    """Raise StepTimedOut in the block after ``seconds``; only where the process can take a
    timer signal (the main thread, as in a Celery worker's pool process)."""
    main = threading.current_thread() is threading.main_thread()
    if not seconds or not main or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise StepTimedOut()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
