"""Middleware of Sluice's own."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect


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
