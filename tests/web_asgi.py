"""Sluice's Django application for a web server a test starts: sluice.asgi with the static
files served from the apps as they are (as in tests/conftest.py), so no collectstatic."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sluice.settings")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
