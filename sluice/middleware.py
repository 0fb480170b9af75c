"""Middleware of Sluice's own."""

import re
import uuid

from django.conf import settings
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect

from sluice import logs

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_context(get_response):
    """Give each request an id (a proxy's ``X-Request-ID`` when it is a plain token), name it
    in every log line written while it is answered and in the answer's ``X-Request-ID``, and
    keep the client's address for the audit log."""

    def middleware(request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        id_token = logs.REQUEST_ID.set(request_id)
        address_token = logs.CLIENT_ADDRESS.set(request.META.get("REMOTE_ADDR") or None)
        try:
            response = get_response(request)
        finally:
            logs.CLIENT_ADDRESS.reset(address_token)
            logs.REQUEST_ID.reset(id_token)
        response["X-Request-ID"] = request_id
        return response

    return middleware


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
