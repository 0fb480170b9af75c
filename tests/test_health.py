"""/healthz, /readyz and the worker probe, with real processes stopped and started."""

import os
import socket
import subprocess
import sys

import httpx
import pytest
from django.db import connection
from django.test import Client

from tests.standins.processes import ROOT, redis_server, tcp_proxy, web_server
from tests.workers import Workers, database_url, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_answers_without_sign_in_or_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_lists_each_check_with_its_status_and_latency(settings):
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    expected = {"database", "broker"} | ({"channel_layer"} if settings.CHANNEL_LAYER_URL else set())
    assert set(body["checks"]) == expected
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert isinstance(check["latency_ms"], float | int) and check["latency_ms"] >= 0


def test_readyz_says_what_failed_without_naming_hosts(settings, unused_port):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{unused_port}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["broker"] == {
        "status": "failing",
        "error": "no answer",
        "latency_ms": body["checks"]["broker"]["latency_ms"],
    }
    assert body["checks"]["database"]["status"] == "ok"
    text = response.content.decode()
    assert str(unused_port) not in text and "127.0.0.1" not in text and "redis" not in text


def test_readyz_fails_when_the_embedded_brokers_file_cannot_be_opened(settings, tmp_path):
    settings.CELERY_BROKER_URL = f"sqla+sqlite:///{tmp_path}/missing/broker.sqlite3"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["error"] == "no answer"
    assert str(tmp_path) not in response.content.decode()


def test_readyz_reports_unapplied_migrations(settings):
    from django.core.management import call_command

    call_command("migrate", "audit_app", "zero", verbosity=0)
    try:
        response = Client().get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"]["error"] == "1 unapplied migration(s)"
    finally:
        call_command("migrate", "audit_app", verbosity=0)
    assert Client().get("/readyz").status_code == 200


def ready(web) -> tuple[int, dict]:
    try:
        response = httpx.get(f"http://127.0.0.1:{web.port}/readyz", timeout=30)
    except httpx.HTTPError:
        return 0, {}
    return response.status_code, response.json()


def becomes(web, status: int) -> dict:
    """Poll /readyz as a probe does until it answers ``status``; return that answer."""
    seen: dict = {}

    def answered() -> bool:
        code, body = ready(web)
        seen.update(body=body)
        return code == status

    assert wait_until(answered, timeout=60, interval=0.5), seen
    return seen["body"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def test_readiness_goes_to_503_while_redis_is_stopped_and_back_when_it_returns():
    redis_port, web_port = free_ports(2)
    redis = redis_server(redis_port)
    redis.start()
    web = web_server(
        web_port,
        DATABASE_URL=database_url(),
        SLUICE_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
        SLUICE_CHANNEL_LAYER_URL=f"redis://127.0.0.1:{redis_port}/1",
    )
    try:
        web.start()
        body = becomes(web, 200)
        assert set(body["checks"]) == {"database", "broker", "channel_layer"}
        redis.stop()
        body = becomes(web, 503)
        assert body["checks"]["broker"]["status"] == "failing"
        assert body["checks"]["channel_layer"]["status"] == "failing"
        assert body["checks"]["database"]["status"] == "ok"
        redis.start()
        assert becomes(web, 200)["status"] == "ok"
    finally:
        web.stop()
        redis.stop()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the production pass runs on PostgreSQL"
)
def test_readiness_goes_to_503_while_postgresql_is_away_and_back_when_it_returns():
    proxy_port, web_port = free_ports(2)
    db = connection.settings_dict
    proxy = tcp_proxy(proxy_port, db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    proxy.start()
    proxied = database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy_port}/")
    web = web_server(web_port, DATABASE_URL=proxied)
    try:
        web.start()
        assert becomes(web, 200)["checks"]["database"]["status"] == "ok"
        proxy.stop()
        body = becomes(web, 503)
        assert body["checks"]["database"] == {
            "status": "failing",
            "error": "no answer",
            "latency_ms": body["checks"]["database"]["latency_ms"],
        }
        assert body["checks"]["broker"]["status"] == "ok"
        proxy.start()
        assert becomes(web, 200)["checks"]["database"]["status"] == "ok"
    finally:
        web.stop()
        proxy.stop()


def worker_ready(broker: str, name: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", "worker_ready", "--name", name, "--timeout", "5"]
    env = {**os.environ, "SLUICE_BROKER_URL": broker}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_worker_ready_exits_0_while_the_worker_answers_and_1_after_it_stopped():
    (redis_port,) = free_ports(1)
    redis = redis_server(redis_port)
    redis.start()
    broker = f"redis://127.0.0.1:{redis_port}/0"
    pool = Workers(SLUICE_BROKER_URL=broker)
    name = f"w0-{pool.queue}@{socket.gethostname()}"
    try:
        pool.start()
        assert wait_until(lambda: worker_ready(broker, name).returncode == 0, timeout=90)
        pool.stop()
        stopped = worker_ready(broker, name)
        assert stopped.returncode == 1
        assert "did not answer" in stopped.stderr
    finally:
        pool.kill()
        redis.stop()
