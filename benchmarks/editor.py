"""What the flow editor costs: the bytes of JavaScript and CSS its page loads, and the
server time of a live-preview request.

The page is fetched with Django's test client in a temporary SQLite setup; its script and
stylesheet URLs are read through the staticfiles finders, raw and gzip-compressed. The
preview is timed for a typical Send email message and for the last step of a 10-step flow.

Run from the repository root:  .venv/bin/python -m benchmarks.editor [requests]
"""

import gzip
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.django_setup import setup_django

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
EMAIL_BODY = """<h1>Welcome, {{ context.user.name }}</h1>
<p>Your plan is {{ vars.plan | upcase }}. {% if context.user.email_verified %}Thanks for
verifying {{ context.user.email }}.{% else %}Please verify your email.{% endif %}</p>
<ul>{% for item in vars.items %}<li>{{ item }}</li>{% endfor %}</ul>
<p><a href="https://example.com/u/{{ functions.encodeURIComponent(context.user.user_id) }}">
Your account</a></p>"""
LAST_PATH = "/api/v2/users/{{ functions.encodeURIComponent(actions.s8.user_id) }}"
TEST_DATA = {
    "context": {"user": {"user_id": "auth0|123", "name": "Ada", "email": "ada@example.com"}},
    "vars": {"plan": "pro", "items": ["one", "two", "three"]},
}


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        from django.conf import settings

        settings.ALLOWED_HOSTS = ["*"]
        client, flow, urls = prepare()
        weights = asset_weights(client.get(urls["page"]).content.decode())
        email_ms = timed(
            client,
            urls["email"],
            {
                "p-to": "{{ context.user.email }}",
                "p-subject": "Hi {{ context.user.name }}",
                "p-body": EMAIL_BODY,
            },
        )
        last_ms = timed(
            client,
            urls["last"],
            {
                "p-method": "GET",
                "p-pathname": LAST_PATH,
            },
        )
    report(weights, email_ms, last_ms)


def prepare():

    from django.test import Client
    from django.urls import reverse

    from accounts_app.models import Role, User
    from flows_app.services import create_flow
    from tests.flow_helpers import step

    user = User.objects.create_user("bench@example.com", "x" * 20, role=Role.ADMIN, name="Bench")
    steps = [
        step(f"s{n}", "SEND_REQUEST", method="GET", pathname="/api/v2/users/x") for n in range(10)
    ]
    flow = create_flow(
        name="Ten steps", definition={"schema_version": 1, "actions": steps}, test_data=TEST_DATA
    )
    mail = {"id": "mail", "type": "AUTH0", "action": "SEND_EMAIL", "params": {}}
    email_flow = create_flow(
        name="Email", definition={"schema_version": 1, "actions": [mail]}, test_data=TEST_DATA
    )
    client = Client()
    client.force_login(user)
    urls = {
        "page": reverse("flow_editor", args=[email_flow.pk]) + "?step=mail",
        "email": reverse("editor_preview", args=[email_flow.pk, "mail"]),
        "last": reverse("editor_preview", args=[flow.pk, "s9"]),
    }
    return client, flow, urls


def asset_weights(html: str) -> dict[str, tuple[int, int]]:
    from django.conf import settings
    from django.contrib.staticfiles import finders

    prefix = "/" + settings.STATIC_URL.lstrip("/")
    found: dict[str, tuple[int, int]] = {}
    for url in re.findall(r'<(?:script[^>]*src|link[^>]*href)="([^"]+)"', html):
        if not url.startswith(prefix) or not url.endswith((".js", ".css")):
            continue
        location = finders.find(url[len(prefix) :].split("?")[0])
        data = Path(location).read_bytes() if location else b""
        found[url] = (len(data), len(gzip.compress(data, 9)))
    return found


def timed(client, url: str, data: dict) -> list[float]:
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.post(url, data, HTTP_HX_REQUEST="true")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return times


def percentiles(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=100)
    return f"p50 {statistics.median(times):.1f} ms, p95 {cuts[94]:.1f} ms"


def report(weights, email_ms, last_ms) -> None:
    print("Editor page assets (raw / gzip -9):")
    for kind in (".js", ".css"):
        rows = {u: w for u, w in weights.items() if u.endswith(kind)}
        for url, (raw, packed) in rows.items():
            print(f"  {url}: {raw:,} B / {packed:,} B")
        raw = sum(r for r, _ in rows.values())
        packed = sum(p for _, p in rows.values())
        print(f"  total {kind[1:].upper()}: {raw:,} B raw, {packed:,} B gzip")
    print(f"Preview request, server time over {REQUESTS} requests (test client, SQLite):")
    print(f"  Send email message: {percentiles(email_ms)}")
    print(f"  last step of a 10-step flow: {percentiles(last_ms)}")
    print("Command: .venv/bin/python -m benchmarks.editor")


if __name__ == "__main__":
    main()
