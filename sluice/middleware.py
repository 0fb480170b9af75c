"""Middleware of Sluice's own."""

from django.conf import settings
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
