"""How many email messages per second flows_app.templating renders, cached and uncached.

A message is what a Send email step renders: its subject with ``render_text`` and a
30-line HTML body (variables, custom variables, a loop, filters, a helper call) with
``render_html``. "Cached" is the normal path: each template is parsed once. "Uncached"
empties the parse cache before every message, so both templates are parsed every time.

Run from the repository root:  .venv/bin/python -m benchmarks.templating [seconds]
"""

import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

from flows_app import templating

SUBJECT = (
    "Welcome to {{ context.tenant.name | capitalize }}, "
    "{{ context.user.given_name ?? context.user.nickname }}!"
)

BODY = """<!doctype html>
<html>
  <body style="font-family: sans-serif; color: #222">
    <h1>Hello {{ context.user.given_name | default: "there" }},</h1>
    <p>
      Your account <strong>{{ context.user.email | downcase }}</strong> at
      {{ context.organization.display_name ?? context.tenant.name }} is ready.
    </p>
    <p>You can sign in with:</p>
    <ul>
      {% for identity in context.user.identities %}
      <li>{{ identity.provider | replace: "-", " " | capitalize }}
        {% if identity.isSocial %}(social){% else %}(password){% endif %}</li>
      {% endfor %}
    </ul>
    {% if custom_vars.trial_days > 0 %}
    <p>Your trial lasts {{ custom_vars.trial_days }} days,
       until {{ custom_vars.trial_end | date: "%B %d, %Y" }}.</p>
    {% endif %}
    <p>
      {% assign user = functions.encodeURIComponent(context.user.user_id) %}
      <a href="https://{{ context.tenant.name }}.example.com/welcome?user={{ user }}">
        Open your dashboard
      </a>
    </p>
    <p style="font-size: small">
      Plan: {{ context.user.app_metadata.plan | upcase }} &middot;
      Seats: {{ context.user.app_metadata.seats | plus: 0 }}
    </p>
    <p>{{ custom_vars.signature | newline_to_br }}</p>
    <p style="color: #888">Sent {{ "now" | date: "%Y-%m-%d" }} to {{ context.user.name }}.</p>
  </body>
</html>
"""

SCOPE = {
    "context": {
        "user": {
            "user_id": "auth0|65840980a1b2c3d4e5f6",
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "nickname": "ada",
            "email": "Ada@Example.com",
            "app_metadata": {"plan": "team", "seats": 12},
            "identities": [
                {"provider": "auth0", "isSocial": False},
                {"provider": "google-oauth2", "isSocial": True},
                {"provider": "github", "isSocial": True},
            ],
        },
        "organization": {"display_name": "Analytical Engines Ltd"},
        "tenant": {"name": "acme"},
    },
    "custom_vars": {
        "trial_days": 14,
        "trial_end": "2026-12-09",
        "signature": "The Acme team\nsupport@acme.example.com",
    },
}


def render_message() -> None:
    templating.render_text(SUBJECT, SCOPE)
    templating.render_html(BODY, SCOPE)


def render_message_uncached() -> None:
    templating._parse.cache_clear()
    render_message()


def messages_per_second(render, seconds: float) -> float:
    render()  # warm up
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        render()
        count += 1
    return count / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    root = Path(__file__).resolve().parent.parent
    lines = BODY.count("\n")
    print(f"One message: subject (render_text) + {lines}-line HTML body (render_html)")
    print(f"Python {platform.python_version()}, python-liquid {version('python-liquid')}")
    for label, render in [
        ("cached (parsed once)", render_message),
        ("uncached (parsed each time)", render_message_uncached),
    ]:
        rate = messages_per_second(render, seconds)
        print(f"  {label:<28} {rate:>9,.0f} messages/s  ({1e6 / rate:,.0f} µs each)")
    print(f"Reproduce: cd {root} && .venv/bin/python -m benchmarks.templating {seconds:g}")


if __name__ == "__main__":
    main()
