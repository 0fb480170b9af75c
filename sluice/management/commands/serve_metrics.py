"""Serve /metrics on its own port, for a machine that runs workers but no web server.

The counts are those of every process that shares this machine's PROMETHEUS_MULTIPROC_DIR,
and the same rule as the web server's /metrics decides who may read them.
"""

from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sluice import env, metrics
from sluice.health import scrape_allowed


class Command(BaseCommand):
    help = "Serve the Prometheus metrics of this machine's processes on their own port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0")
        parser.add_argument(
            "--port", type=int, default=env.integer("SLUICE_METRICS_PORT", 9808, 1, 65535)
        )

    def handle(self, host, port, **options):
        if not (settings.METRICS_TOKEN or settings.METRICS_ALLOW_FROM):
            raise CommandError("Set SLUICE_METRICS_TOKEN or SLUICE_METRICS_ALLOW_FROM first.")
        if not metrics.multiprocess_dir():
            raise CommandError("Set PROMETHEUS_MULTIPROC_DIR to the workers' directory first.")
        server = make_server(host, port, application, WSGIServer, _QuietHandler)
        self.stdout.write(f"Serving /metrics on {host}:{port}.")
        self.stdout.flush()
        server.serve_forever()


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in (
        "GET",
        "HEAD",
    ):
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    if not scrape_allowed(environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR", "")):
        start_response("401 Unauthorized", [("Content-Length", "0")])
        return [b""]
    output = generate_latest(metrics.scrape_registry(with_state=False))
    start_response(
        "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(output)))]
    )
    return [output]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the signature is http.server's)
        pass
