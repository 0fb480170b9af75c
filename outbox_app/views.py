"""The Outbox page: what flows sent through the outbox, newest first, and each message."""

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts_app.access import editor_required
from outbox_app.models import OutboxMessage

PAGE_SIZE = 50


class Filters(forms.Form):
    run = forms.IntegerField(label="Run", required=False, min_value=1)
    to = forms.CharField(label="Recipient", required=False, max_length=200)

    def apply(self, messages):
        if self.is_valid():
            if self.cleaned_data["run"]:
                messages = messages.filter(run_id=self.cleaned_data["run"])
            if self.cleaned_data["to"]:
                messages = messages.filter(recipient__icontains=self.cleaned_data["to"].strip())
        return messages


@require_GET
@editor_required
def outbox(request: HttpRequest) -> HttpResponse:
    filters = Filters(request.GET or None)
    messages = filters.apply(OutboxMessage.objects.defer("html", "headers", "details"))
    page = Paginator(messages, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "filtered": filters.is_bound,
        "page": page,
        "query": query.urlencode(),
    }
    return render(request, "outbox/list.html", context)


@require_GET
@editor_required
def message(request: HttpRequest, pk: int) -> HttpResponse:
    kept = get_object_or_404(OutboxMessage, pk=pk)
    return render(request, "outbox/message.html", {"message": kept})
