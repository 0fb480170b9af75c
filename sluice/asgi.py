"""ASGI entry point: HTTP through Django (the API through its own handler, see
sluice.routing), websockets through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sluice.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from sluice.checks import refuse_unsafe_start  # noqa: E402

refuse_unsafe_start(serves_pages=True)

from sluice.routing import http_application, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application(django_application),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
