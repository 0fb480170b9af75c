"""What an HTTP request step costs on top of the request itself.

A 10-step flow of HTTP request steps (POST with a templated URL, URL params, a header and a
JSON body, with a bearer-token vault connection) runs against a local API stand-in through
the engine: rendering, the run and step records in SQLite, redaction, the guarded client
(name resolution and address checks, a fresh connection per step). The same 10 requests
are then made directly with one plain httpx client (kept-alive connection) and with one
guarded fetch each. It prints the time per run and the overhead per step.

Run from the repository root:  .venv/bin/python -m benchmarks.http_action [runs]
"""

import statistics
import sys
import tempfile

from benchmarks.django_setup import setup_django
from benchmarks.engine import timed

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
STEPS = 10


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        from tests.standins.api import ApiStandin

        standin = ApiStandin()
        standin.start()
        try:
            figures = measure(standin)
        finally:
            standin.stop()
    report(*figures)


def measure(standin) -> tuple[list[float], list[float], list[float]]:
    import httpx

    from flows_app.engine import execute
    from flows_app.models import Run
    from flows_app.services import create_flow, create_run
    from tests.http_helpers import http_connection, http_step
    from vault_app.clients import guarded
    from vault_app.kinds.base import tls_context

    standin.answer("POST", "/invites/{code}", 200, {"valid": True, "plan": "pro"})
    partner = http_connection(standin, "BEARER")
    steps = [
        http_step(
            f"s{n}",
            connection_id=partner.pk,
            url=standin.url("/invites/{{ fields.code }}"),
            method="POST",
            content_type="JSON",
            headers={"X-Source": "forms"},
            params={"tenant": "{{ context.tenant }}", "v": 2},
            payload={"email": "{{ fields.email }}", "n": n},
        )
        for n in range(STEPS)
    ]
    flow = create_flow(name="Benchmark", definition={"schema_version": 1, "actions": steps})
    data = {"context": {"tenant": "acme"}, "fields": {"code": "X1", "email": "a@example.com"}}

    def through_engine():
        run = execute(create_run(flow, trigger=Run.Trigger.CLI, input=data, draft=True))
        assert run.status == Run.Status.SUCCEEDED, run.error

    url = standin.url("/invites/X1?tenant=acme&v=2")
    body = {"email": "a@example.com"}
    headers = {"Authorization": "Bearer x", "X-Source": "forms"}

    client = httpx.Client(verify=tls_context())  # made once: its connection stays open

    def plain():
        for _ in range(STEPS):
            client.post(url, json=body, headers=headers).raise_for_status()

    def guarded_only():
        for _ in range(STEPS):
            request = httpx.Request("POST", url, json=body, headers=headers)
            assert guarded.fetch(request).status == 200

    through_engine()  # warm up: the parse cache, the TLS settings
    plain()
    figures = timed(through_engine, RUNS), timed(plain, RUNS), timed(guarded_only, RUNS)
    client.close()
    return figures


def report(engine_ms: list[float], plain_ms: list[float], guarded_ms: list[float]) -> None:
    engine, plain, fenced = (statistics.median(t) for t in (engine_ms, plain_ms, guarded_ms))
    print(f"{STEPS} HTTP request steps per run, {len(engine_ms)} runs (medians):")
    print(f"  through the engine:        {engine:7.1f} ms per run")
    print(f"  guarded fetch, no engine:  {fenced:7.1f} ms per run")
    print(f"  plain httpx, kept alive:   {plain:7.1f} ms per run")
    print(f"  overhead per step vs plain httpx:   {(engine - plain) / STEPS:6.2f} ms")
    print(f"  of which the guarded client:        {(fenced - plain) / STEPS:6.2f} ms")
    print(f"  of which the engine (records, …):   {(engine - fenced) / STEPS:6.2f} ms")


if __name__ == "__main__":
    main()
