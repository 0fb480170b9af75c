"""Create, import, export, rename, duplicate and delete flows."""

import json

from django import forms
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts_app.access import editor_required
from flows_app.models import Flow
from flows_app.services import InvalidFlow, create_flow, duplicate_flow, export_flow, import_flow
from flows_app.views.runs import HtmxHttpRequest

IMPORT_LIMIT = 1_000_000


class NameForm(forms.Form):
    name = forms.CharField(max_length=150, label="Name")
    description = forms.CharField(
        required=False, label="Description", widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if any(ord(ch) < 32 for ch in name):
            raise forms.ValidationError("Remove the line breaks or other control characters.")
        return name


class ImportForm(forms.Form):
    file = forms.FileField(required=False, label="A flow file (.json)")
    text = forms.CharField(
        required=False,
        strip=False,
        label="…or paste its JSON",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
    )

    def clean(self):
        super().clean()
        upload, text = self.cleaned_data.get("file"), self.cleaned_data.get("text") or ""
        if upload:
            if upload.size > IMPORT_LIMIT:
                raise forms.ValidationError("The file is larger than 1 MB.")
            text = upload.read().decode("utf-8", errors="replace")
        if not text.strip():
            raise forms.ValidationError("Choose a file or paste a flow's JSON.")
        try:
            self.cleaned_data["document"] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        return self.cleaned_data


def _editor_or_page(flow: Flow):
    try:
        return redirect(reverse("flow_editor", args=[flow.pk]))
    except NoReverseMatch:
        return redirect("flow_detail", pk=flow.pk)


@editor_required
@require_POST
def flow_create(request: HtmxHttpRequest) -> HttpResponse:
    form = NameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A new flow needs a name (at most 150 characters).")
        return redirect("flow_list")
    flow = create_flow(
        name=form.cleaned_data["name"],
        owner=request.user,
        description=form.cleaned_data["description"],
    )
    messages.success(request, f"Created {flow.name}.")
    return _editor_or_page(flow)


@editor_required
@require_http_methods(["GET", "POST"])
def flow_import(request: HtmxHttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list = []
    if request.method == "POST" and form.is_valid():
        try:
            flow = import_flow(form.cleaned_data["document"], owner=request.user)
        except InvalidFlow as exc:
            problems = exc.problems
        else:
            steps = len(flow.draft.get("actions", []))
            messages.success(request, f"Imported {flow.name} with {steps} step(s).")
            return redirect("flow_detail", pk=flow.pk)
    return render(
        request,
        "flows/import.html",
        {"form": form, "problems": problems},
        status=422 if problems else 200,
    )


@require_GET
def flow_export(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=pk)
    response = JsonResponse(export_flow(flow), json_dumps_params={"indent": 2, "sort_keys": True})
    filename = f"{slugify(flow.name) or 'flow'}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@editor_required
@require_POST
def flow_duplicate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    copy = duplicate_flow(get_object_or_404(Flow, pk=pk), owner=request.user)
    messages.success(request, f"Created {copy.name}.")
    return redirect("flow_detail", pk=copy.pk)


@editor_required
@require_http_methods(["GET", "POST"])
def flow_rename(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=pk)
    form = NameForm(
        request.POST or None, initial={"name": flow.name, "description": flow.description}
    )
    if request.method == "POST" and form.is_valid():
        flow.name, flow.description = form.cleaned_data["name"], form.cleaned_data["description"]
        flow.save(update_fields=["name", "description", "updated_at"])
        messages.success(request, f"Saved {flow.name}.")
        return redirect("flow_detail", pk=flow.pk)
    return render(request, "flows/rename.html", {"flow": flow, "form": form})


@editor_required
@require_http_methods(["GET", "POST"])
def flow_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=pk)
    if request.method == "POST":
        name = flow.name
        flow.delete()
        messages.success(request, f"Deleted {name} and its run history.")
        return redirect("flow_list")
    return render(request, "flows/delete.html", {"flow": flow, "runs": flow.runs.count()})


urlpatterns = [
    path("flows/new/", flow_create, name="flow_create"),
    path("flows/import/", flow_import, name="flow_import"),
    path("flows/<int:pk>/export/", flow_export, name="flow_export"),
    path("flows/<int:pk>/duplicate/", flow_duplicate, name="flow_duplicate"),
    path("flows/<int:pk>/rename/", flow_rename, name="flow_rename"),
    path("flows/<int:pk>/delete/", flow_delete, name="flow_delete"),
]
