"""Routes below Django's URLs: the HTTP API's own handler, and the websockets for live run
progress."""

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.urls import path

from flows_app.consumers import RunEventsConsumer
from sluice.middleware import request_context

websocket_urlpatterns: list = [
    path("ws/runs/", RunEventsConsumer.as_asgi()),
    path("ws/runs/<int:run_id>/", RunEventsConsumer.as_asgi()),
]

API_PREFIX = "/api/"


class ApiHandler(ASGIHandler):
    """Django's ASGI handler for the HTTP API (``/api/``): no middleware, no thread per request.

    API requests carry a flow token, never a session, a form or a page, so sessions, CSRF,
    messages, sign-in redirects and page headers have nothing to do there; the API views
    check the host and the token and set their own headers. Only ``request_context`` (the
    request id and the access line) runs, async. Django's own handler gives every
    request a thread of its own for its synchronous work, which an async view waiting for a
    run would hold idle until it answers; here that work shares one thread per process (it
    is short: a token, an insert, a read), and a waiting request is only a coroutine.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"The API serves HTTP, not {scope['type']}.")
        await self.handle(scope, receive, send)

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response  # type: ignore[attr-defined]
        named = request_context(convert_exception_to_response(get_response))
        self._middleware_chain = convert_exception_to_response(named)


def http_application(site):
    """HTTP for ``site`` (Django's ASGI application), the API's paths through ApiHandler."""
    api = ApiHandler()

    async def route(scope, receive, send):
        handler = api if scope["path"].startswith(API_PREFIX) else site
        await handler(scope, receive, send)

    return route
