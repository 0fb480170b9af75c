"""Middleware of Sluice's own."""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import sync_and_async_middleware
from django_htmx.http import HttpResponseClientRedirect

from sluice import logs

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
access_log = logging.getLogger("sluice.access")


@sync_and_async_middleware
def request_context(get_response):
    """Give each request an id (a proxy's ``X-Request-ID`` when it is a plain token), name it
    in every log line written while it is answered and in the answer's ``X-Request-ID``, and
    keep the client's address for the audit log. Each answer is logged on one access line
    (the path without its query string, which may carry user data). It runs async too: the
    HTTP API's own handler (sluice.routing) has this middleware only."""

    if iscoroutinefunction(get_response):

        async def async_middleware(request):
            with _answering(request) as answered:
                return answered(await get_response(request))

        return async_middleware

    def middleware(request):
        with _answering(request) as answered:
            return answered(get_response(request))

    return middleware


@contextmanager
def _answering(request):
    """Name the request in log lines while it is answered; yield what finishes its answer."""
    started = time.monotonic()
    given = request.headers.get("X-Request-ID", "")
    request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    id_token = logs.REQUEST_ID.set(request_id)
    address_token = logs.CLIENT_ADDRESS.set(request.META.get("REMOTE_ADDR") or None)

    def answered(response):
        _log_access(request, response.status_code, started)
        response["X-Request-ID"] = request_id
        return response

    try:
        yield answered
    finally:
        logs.CLIENT_ADDRESS.reset(address_token)
        logs.REQUEST_ID.reset(id_token)


def _log_access(request, status: int, started: float) -> None:
    milliseconds = round((time.monotonic() - started) * 1000, 1)
    path = request.path.encode("unicode_escape").decode("ascii")  # no forged lines
    access_log.info(
        "%s %s %s %sms",
        request.method,
        path,
        status,
        milliseconds,
        extra={"method": request.method, "path": path, "status": status, "ms": milliseconds},
    )


def htmx_sign_in_redirect(get_response):
    """Send the whole page to the sign-in form when a session ends under an htmx request.

    Without this, htmx follows the redirect and swaps the sign-in page into a fragment.
    """
    login_path = resolve_url(settings.LOGIN_URL)

    def middleware(request):
        response = get_response(request)
        location = response.get("Location", "") if response.status_code == 302 else ""
        if getattr(request, "htmx", False) and location.startswith(login_path):
            return HttpResponseClientRedirect(location)
        return response

    return middleware


def private_pages(get_response):
    """Tell browsers and proxies to keep no copy of a page or API answer.

    Every one of them is behind a sign-in or a token and shows run data, flows or connection
    settings. Static files never get here: WhiteNoise answers them first, with long cache
    lifetimes. A view that sets its own Cache-Control keeps it.
    """

    def middleware(request):
        response = get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response

    return middleware


View = Callable[..., HttpResponse]


def limit_body(limit: int, too_large: Callable[[HttpRequest], HttpResponse]):
    """Mark a view as taking a request body of at most ``limit`` bytes; a larger one gets
    ``too_large(request)`` from :class:`BodyLimitMiddleware`, before anything reads it."""

    def mark(view: View) -> View:
        view.body_limit = limit  # type: ignore[attr-defined]
        view.too_large = too_large  # type: ignore[attr-defined]
        return view

    return mark


class BodyLimitMiddleware:
    """Answer a POST larger than its view takes with the view's own page, not Django's bare
    "Bad Request (400)" and a traceback in the log.

    It must come before CsrfViewMiddleware, which reads the body to find the token: past
    DATA_UPLOAD_MAX_MEMORY_SIZE that read raises RequestDataTooBig. Nothing is read here;
    the declared length decides.
    """

    def __init__(self, get_response: View):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        limit = getattr(view, "body_limit", None)
        if limit is None or request.method != "POST":
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        return view.too_large(request) if length > limit else None
