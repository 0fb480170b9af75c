"""Every Prometheus metric Sluice exports, and the small functions that count them.

Web processes and workers count into ``prometheus_client``'s multiprocess files when
``PROMETHEUS_MULTIPROC_DIR`` is set (it must be, before this module is first imported, in
every process of a deployment: ``manage.py serve`` does it), so ``/metrics`` served by any
web process adds up every process's counts. How many runs wait, how many are queued and the
broker's queue depth are read when ``/metrics`` is scraped (:class:`StateCollector`).

Label values are bounded and never user data: a flow is its id, never its name; an action is
its registered ``TYPE/ACTION`` key (else ``other``); statuses and kinds come from fixed sets.
No run id is ever a label.
"""

import logging
import os
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
FINAL = ("succeeded", "failed", "cancelled")
STEP_DONE = ("succeeded", "failed")

RUNS_STARTED = Counter(
    "sluice_runs_started", "Runs a worker began executing.", ["flow", "trigger"], registry=None
)
RUNS_FINISHED = Counter(
    "sluice_runs_finished", "Runs that ended, by final status.", ["flow", "status"], registry=None
)
RUN_DURATION = Histogram(
    "sluice_run_duration_seconds",
    "From a run's start to its end (time asleep in a Delay included).",
    ["flow", "status"],
    buckets=RUN_BUCKETS,
    registry=None,
)
STEP_DURATION = Histogram(
    "sluice_step_duration_seconds",
    "How long steps took, by action type and outcome.",
    ["action", "status"],
    buckets=STEP_BUCKETS,
    registry=None,
)
VENDOR_RESPONSES = Counter(
    "sluice_vendor_responses",
    "Answers from vendors (Auth0, Twilio, HTTP request steps), by status class; "
    "'error' is no answer (network, TLS, timeout).",
    ["kind", "status_class"],
    registry=None,
)
VENDOR_RATE_LIMITED = Counter(
    "sluice_vendor_rate_limited",
    "429 Too Many Requests answers from vendors.",
    ["kind"],
    registry=None,
)
VENDOR_RETRIES = Counter(
    "sluice_vendor_retries",
    "Requests to vendors sent again after a 429, 5xx or network error.",
    ["kind"],
    registry=None,
)
TOKEN_REQUESTS = Counter(
    "sluice_token_requests",
    "Client-credentials token requests: Auth0 Management API tokens and HTTP connections' "
    "OAuth tokens.",
    ["kind", "outcome"],
    registry=None,
)
RUNS_REQUEUED = Counter(
    "sluice_runs_requeued",
    "Running runs whose worker fell silent, queued again by the sweep.",
    registry=None,
)
RUNS_TIMED_OUT = Counter(
    "sluice_runs_timed_out",
    "Runs past their time limit whose worker fell silent, failed by the sweep.",
    registry=None,
)
RUNS_LOST = Counter(
    "sluice_runs_lost",
    "Runs failed because their worker was lost too many times.",
    registry=None,
)

COUNTED = (
    RUNS_STARTED,
    RUNS_FINISHED,
    RUN_DURATION,
    STEP_DURATION,
    VENDOR_RESPONSES,
    VENDOR_RATE_LIMITED,
    VENDOR_RETRIES,
    TOKEN_REQUESTS,
    RUNS_REQUEUED,
    RUNS_TIMED_OUT,
    RUNS_LOST,
)


# Counting ---------------------------------------------------------------------------------


def run_started(run) -> None:
    RUNS_STARTED.labels(flow=str(run.flow_id), trigger=run.trigger).inc()


def run_ended(run) -> None:
    """Count a run that reached a final status, and how long it took."""
    if run.status not in FINAL:
        return
    labels = {"flow": str(run.flow_id), "status": run.status}
    RUNS_FINISHED.labels(**labels).inc()
    if run.started_at and run.finished_at:
        seconds = (run.finished_at - run.started_at).total_seconds()
        RUN_DURATION.labels(**labels).observe(max(0.0, seconds))


def step_ended(step) -> None:
    """Count a step that succeeded or failed, by its registered action type."""
    if step.status not in STEP_DONE or step.duration_ms is None:
        return
    STEP_DURATION.labels(action=action_label(step.action_type), status=step.status).observe(
        step.duration_ms / 1000
    )


def action_label(action_type: str) -> str:
    from flows_app.actions import ACTION_TYPES

    return action_type if action_type in ACTION_TYPES else "other"


def vendor_answered(kind: str, status: int | None) -> None:
    """Count a vendor's answer (``None``: none came, a network or TLS error or a timeout)."""
    VENDOR_RESPONSES.labels(kind=kind, status_class=status_class(status)).inc()
    if status == 429:
        VENDOR_RATE_LIMITED.labels(kind=kind).inc()


def status_class(status: int | None) -> str:
    if status is None or not 100 <= status <= 599:
        return "error"
    return f"{status // 100}xx"


def vendor_retried(kind: str) -> None:
    VENDOR_RETRIES.labels(kind=kind).inc()


def token_requested(kind: str, outcome: str) -> None:
    TOKEN_REQUESTS.labels(kind=kind, outcome=outcome).inc()


def swept(*, requeued: int, timed_out: int) -> None:
    """Count what the sweep did: runs of lost workers queued again, overdue runs failed."""
    if requeued:
        RUNS_REQUEUED.inc(requeued)
    if timed_out:
        RUNS_TIMED_OUT.inc(timed_out)


def run_lost() -> None:
    RUNS_LOST.inc()


# Scraping ---------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    """The directory every process counts into, when multiprocess mode is on."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


def scrape_registry(*, with_state: bool = True) -> CollectorRegistry:
    """A registry of every process's counts (or this process's alone without multiprocess
    mode) and, ``with_state``, of the runs and queue read now (the web server's /metrics;
    a workers' machine leaves them to it)."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        MultiProcessCollector(registry, path=path)
    else:
        for metric in COUNTED:
            registry.register(metric)
    if with_state:
        registry.register(StateCollector())
    return registry


class StateCollector:
    """Gauges read at scrape time: runs queued, running and waiting in a Delay (from the
    database) and the messages waiting in the broker's queue."""

    def collect(self) -> Iterator[Metric]:
        yield from _run_gauges()
        depth = queue_depth()
        if depth is not None:
            gauge = GaugeMetricFamily(
                "sluice_queue_depth", "Messages waiting in the broker's run queue."
            )
            gauge.add_metric([], depth)
            yield gauge

    def describe(self) -> Iterable[Metric]:
        return []


def _run_gauges() -> Iterator[Metric]:
    from django.db.models import Count

    from flows_app.models import Run

    names = {
        Run.Status.QUEUED: ("sluice_runs_queued", "Runs waiting for a worker."),
        Run.Status.RUNNING: ("sluice_runs_running", "Runs a worker is executing."),
        Run.Status.WAITING: ("sluice_runs_waiting", "Runs asleep in a Delay step."),
    }
    rows = (
        Run.objects.filter(status__in=list(names))
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    counts = dict(rows)
    for status, (name, help_text) in names.items():
        gauge = GaugeMetricFamily(name, help_text)
        gauge.add_metric([], counts.get(status, 0))
        yield gauge


def queue_depth() -> int | None:
    """Messages in the broker's run queue, or None when the broker does not answer."""
    from django.conf import settings
    from kombu import Connection
    from kombu.exceptions import ChannelError

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as connection:
            channel = connection.default_channel
            try:
                return channel.queue_declare(settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)[1]
            except ChannelError:  # Redis keeps no empty list: nothing is waiting
                return 0
    except Exception:  # noqa: BLE001  (a scrape must not fail because the broker is down)
        log.warning("Could not read the broker's queue depth.", exc_info=True)
        return None
