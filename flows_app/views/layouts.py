"""Flows as a zip of an Auth0 deploy CLI repository: one flow, or every flow."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from flows_app import layouts
from flows_app.models import Flow
from flows_app.views.runs import HtmxHttpRequest

# What one download may hold, unzipped; the command line writes larger repositories.
ZIP_LIMIT = 20_000_000


@require_GET
def flow_export_zip(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The flow's draft and its connections in the deploy CLI's ``?layout=`` as a zip."""
    flow = get_object_or_404(Flow, pk=pk)
    return _zip(request, [flow], slugify(flow.name) or "flow", flow)


@require_GET
def flows_export_zip(request: HtmxHttpRequest) -> HttpResponse:
    """Every flow's draft and their connections in the deploy CLI's ``?layout=`` as a zip."""
    return _zip(request, list(Flow.objects.order_by("name", "pk")), "flows", None)


def _zip(request, flows: list[Flow], stem: str, flow: Flow | None) -> HttpResponse:
    layout = request.GET.get("layout", "")
    if layout not in layouts.LAYOUTS:
        return HttpResponse("Unknown layout: use directory or yaml.", status=400)
    try:
        files = layouts.export_files(flows, layout)
    except layouts.LayoutError as exc:
        return _problems(request, flow, exc.problems, 422)
    if sum(len(text.encode()) for text in files.values()) > ZIP_LIMIT:
        problem = (
            f"The files come to more than {ZIP_LIMIT:,} bytes, more than one download holds: "
            f"use manage.py flows export --all --layout {layout} DIR."
        )
        return _problems(request, flow, [problem], 413)
    response = HttpResponse(layouts.zip_bytes(files), content_type="application/zip")
    filename = f"{stem}.deploy-cli-{layout}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _problems(request, flow: Flow | None, problems: list[str], status: int) -> HttpResponse:
    context = {"flow": flow, "problems": problems}
    return render(request, "flows/export_layout_problems.html", context, status=status)


urlpatterns = [
    path("flows/export/zip/", flows_export_zip, name="flows_export_zip"),
    path("flows/<int:pk>/export/zip/", flow_export_zip, name="flow_export_zip"),
]
