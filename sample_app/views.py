"""Make the sample flow again from the empty Flows page (embedded default only)."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts_app.access import editor_required
from sample_app.sample import create_sample


@editor_required
@require_POST
def sample_create(request: HttpRequest) -> HttpResponse:
    if settings.PRODUCTION:
        raise Http404("The sample flow is offered in the embedded default only.")
    sample = create_sample(owner=request.user)
    messages.success(
        request,
        f"Created the sample flow {sample.flow.name}, published. Press Run to welcome "
        "the test data's user; the email lands on the Outbox page.",
    )
    return redirect("flow_detail", sample.flow.pk)
