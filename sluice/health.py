"""Probes for load balancers and orchestrators, and the Prometheus scrape endpoint.

``/healthz`` says the process answers and touches nothing else. ``/readyz`` checks what a
request needs: the database (and that it has every migration), the broker and, when one is
configured, the channel layer; it answers 503 when one of them fails. Neither needs a
sign-in, and neither names a host, a version or an error's text: a failing check says only
what failed ("no answer", "2 unapplied migrations"); the log says why.
"""

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable
from contextlib import suppress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sluice import metrics

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 2  # seconds a broker or channel layer may take to answer


class CheckFailed(Exception):
    """A readiness check failed; the message is what the probe may show."""


@login_not_required
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@login_not_required
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    results = {name: _timed(name, check) for name, check in checks().items()}
    ready = all(result["status"] == "ok" for result in results.values())
    body = {"status": "ok" if ready else "failing", "checks": results}
    return JsonResponse(body, status=200 if ready else 503)


def checks() -> dict[str, Callable[[], None]]:
    found: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker}
    if settings.CHANNEL_LAYER_URL:
        found["channel_layer"] = check_channel_layer
    return found


def _timed(name: str, check: Callable[[], None]) -> dict:
    started = time.monotonic()
    try:
        check()
    except CheckFailed as failed:
        outcome = {"status": "failing", "error": str(failed)}
    except Exception:  # noqa: BLE001  (any failure is "not ready", never a 500)
        log.warning("Readiness check %s failed.", name, exc_info=True)
        outcome = {"status": "failing", "error": "no answer"}
    else:
        outcome = {"status": "ok"}
    return {**outcome, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        # A connection kept from before the outage is dead: the next check opens a new one.
        connection.close()
        raise
    if plan:
        raise CheckFailed(f"{len(plan)} unapplied migration(s)")


def check_broker() -> None:
    """Ask the broker about the run queue: a round trip to Redis, a query of SQLite's file."""
    from kombu import Connection
    from kombu.exceptions import ChannelError

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=CHECK_TIMEOUT)
        # A passive declare that fails still had an answer: Redis keeps no empty queue.
        with suppress(ChannelError):
            broker.default_channel.queue_declare(settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)


def check_channel_layer() -> None:
    import redis

    client = redis.Redis.from_url(
        settings.CHANNEL_LAYER_URL,
        socket_connect_timeout=CHECK_TIMEOUT,
        socket_timeout=CHECK_TIMEOUT,
    )
    try:
        client.ping()
    finally:
        client.close()


# Metrics ----------------------------------------------------------------------------------


@login_not_required
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition, for a scraper with the token or at a listed address.

    Off (404) unless SLUICE_METRICS_TOKEN or SLUICE_METRICS_ALLOW_FROM is set; anyone else
    gets an empty 401.
    """
    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOW_FROM):
        return HttpResponseNotFound()
    if not may_scrape(request):
        return HttpResponse(status=401)
    output = generate_latest(metrics.scrape_registry())
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)


def may_scrape(request: HttpRequest) -> bool:
    return scrape_allowed(
        request.headers.get("Authorization", ""), request.META.get("REMOTE_ADDR", "")
    )


def scrape_allowed(authorization: str, address: str) -> bool:
    """A request with the scrape token; without a token, one from a listed address."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        expected = settings.METRICS_TOKEN
        return bool(
            expected
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), expected.encode())
        )
    return _listed(address)


def _listed(address: str) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in settings.METRICS_ALLOW_FROM)
