"""Sluice's Django application for a web server a test starts: sluice.asgi without its
refusal to start before the static files are collected (the tests serve none)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sluice.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
