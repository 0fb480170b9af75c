"""Middleware of Sluice's own.

Every middleware in the chain can run in async mode, so an async view (the API's
run-and-wait) awaits without holding a thread; sync views run as before.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.shortcuts import resolve_url
from django.utils.decorators import sync_and_async_middleware
from django_htmx.http import HttpResponseClientRedirect
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFiles(WhiteNoiseMiddleware):
    """WhiteNoise's middleware, able to sit in an async chain (WhiteNoise's own is sync only,
    which would make Django run the whole chain, and any async view, in a thread)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        static_file = self._static_file(request)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)

    def _static_file(self, request):
        if self.autorefresh:
            return self.find_file(request.path_info)
        return self.files.get(request.path_info)


@sync_and_async_middleware
def htmx_sign_in_redirect(get_response):
    """Send the whole page to the sign-in form when a session ends under an htmx request.

    Without this, htmx follows the redirect and swaps the sign-in page into a fragment.
    """
    login_path = resolve_url(settings.LOGIN_URL)

    def to_sign_in(request, response):
        location = response.get("Location", "") if response.status_code == 302 else ""
        if getattr(request, "htmx", False) and location.startswith(login_path):
            return HttpResponseClientRedirect(location)
        return response

    if iscoroutinefunction(get_response):

        async def async_middleware(request):
            return to_sign_in(request, await get_response(request))

        return async_middleware

    def middleware(request):
        return to_sign_in(request, get_response(request))

    return middleware
