"""Create, import, export, rename, duplicate and delete flows."""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts_app.access import editor_required
from audit_app.records import Target, record
from flows_app import audit_trail, interop
from flows_app.json_limits import TooDeep, loads
from flows_app.models import Flow
from flows_app.services import create_flow, duplicate_flow
from flows_app.views.runs import HtmxHttpRequest
from sluice.middleware import limit_body

FILE_LIMIT = 200
FORM_OVERHEAD = 100_000  # multipart boundaries and the form's other fields, in bytes


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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".json,application/json"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class ImportForm(forms.Form):
    """Files (several: a deploy CLI's flows directory) or pasted JSON (one flow, or a list).

    The documents read from files are put back in the text box when the import needs another
    try, so nothing uploaded has to be chosen again.
    """

    uploads = MultipleFileField(
        required=False,
        label="Flow files (.json; choose several for a deploy CLI flows directory)",
    )
    text = forms.CharField(
        required=False,
        strip=False,
        label="…or paste JSON: one flow, or a list of flows",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
    )
    placeholders = forms.BooleanField(
        required=False,
        label="Create empty placeholder connections for the ones the vault lacks "
        "(no secrets; an admin completes them)",
    )

    def clean(self):
        super().clean()
        uploads = self.cleaned_data.get("uploads") or []
        if len(uploads) > FILE_LIMIT:
            raise forms.ValidationError(f"Choose at most {FILE_LIMIT} files.")
        text = self.cleaned_data.get("text") or ""
        if sum(upload.size for upload in uploads) + len(text.encode()) > interop.IMPORT_LIMIT:
            raise forms.ValidationError(interop.too_large())
        documents = [self._read(upload) for upload in uploads]
        if not documents and not text.strip():
            raise forms.ValidationError("Choose files or paste a flow's JSON.")
        if text.strip():
            pasted = self._parse(text, "The pasted text")
            items = pasted if isinstance(pasted, list) else [pasted]
            documents += [(f"pasted flow {n}", item) for n, item in enumerate(items, start=1)]
        self.cleaned_data["documents"] = documents
        return self.cleaned_data

    def _read(self, upload) -> tuple[str, object]:
        text = upload.read().decode("utf-8", errors="replace")
        return upload.name, self._parse(text, upload.name)

    @staticmethod
    def _parse(text: str, where: str):
        try:
            return loads(text, where, limit=None)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"{where} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        except TooDeep as exc:
            raise forms.ValidationError(str(exc)) from None


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
    record(request.user, "flow.created", flow)
    messages.success(request, f"Created {flow.name}.")
    return _editor_or_page(flow)


def _import_too_large(request: HtmxHttpRequest) -> HttpResponse:
    context = {"form": ImportForm(), "problems": [interop.too_large()], "missing": []}
    return render(request, "flows/import.html", context, status=413)


@limit_body(
    interop.IMPORT_LIMIT + FORM_OVERHEAD, login_required(editor_required(_import_too_large))
)
@editor_required
@require_http_methods(["GET", "POST"])
def flow_import(request: HtmxHttpRequest) -> HttpResponse:
    """Import flows; missing connections are listed, and staff may make placeholders."""
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form, "problems": [], "missing": []}
    if request.method == "POST" and form.is_valid():
        documents = form.cleaned_data["documents"]
        placeholders = form.cleaned_data["placeholders"] and request.user.is_staff
        try:
            report = interop.import_documents(
                documents, owner=request.user, create_placeholders=placeholders
            )
        except interop.ImportFailed as exc:
            context["problems"] = exc.problems
            context["missing"] = _missing(documents)
            context["form"] = _keep(form, documents)
        else:
            audit_trail.imported(request.user, report, source="upload")
            for line in report.lines():
                messages.success(request, line)
            if len(report.flows) == 1:
                return redirect("flow_detail", pk=report.flows[0].pk)
            return redirect("flow_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "flows/import.html", context, status=status)


def _missing(documents: list) -> list[tuple[str, str]]:
    try:
        return interop.missing_connections(documents)
    except interop.ImportFailed:
        return []


def _keep(form: ImportForm, documents: list) -> ImportForm:
    """The form again with every document in its text box, files included."""
    values = [document for _, document in documents]
    try:
        text = json.dumps(values[0] if len(values) == 1 else values, indent=2, ensure_ascii=False)
    except RecursionError:  # nested too deep to write out again: keep the text as pasted
        text = form.cleaned_data.get("text") or ""
    return ImportForm(initial={"text": text, "placeholders": form.cleaned_data["placeholders"]})


@require_GET
def flow_export(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Download the flow's draft as Auth0's flow JSON (``?format=auth0``) or Sluice's."""
    flow = get_object_or_404(Flow, pk=pk)
    format = request.GET.get("format", interop.SLUICE)
    if format not in interop.FORMATS:
        return HttpResponse("Unknown format: use auth0 or sluice.", status=400)
    document = interop.export_document(flow, format=format)
    problems = interop.schema_problems(document) if format == interop.AUTH0 else []
    if problems:
        context = {"flow": flow, "problems": problems}
        return render(request, "flows/export_problems.html", context, status=422)
    response = HttpResponse(interop.dump(document), content_type="application/json")
    suffix = ".auth0" if format == interop.AUTH0 else ""
    filename = f"{slugify(flow.name) or 'flow'}{suffix}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@editor_required
@require_POST
def flow_duplicate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    original = get_object_or_404(Flow, pk=pk)
    copy = duplicate_flow(original, owner=request.user)
    record(request.user, "flow.duplicated", copy, {"copy_of": f"{original.name} (#{original.pk})"})
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
        before = flow.name, flow.description
        flow.name, flow.description = form.cleaned_data["name"], form.cleaned_data["description"]
        flow.save(update_fields=["name", "description", "updated_at"])
        _record_rename(request, flow, *before)
        messages.success(request, f"Saved {flow.name}.")
        return redirect("flow_detail", pk=flow.pk)
    return render(request, "flows/rename.html", {"flow": flow, "form": form})


def _record_rename(request, flow: Flow, name: str, description: str) -> None:
    changes: dict = {}
    if flow.name != name:
        changes["name"] = {"from": name, "to": flow.name}
    if flow.description != description:
        changes["description"] = "changed"
    if changes:
        record(request.user, "flow.renamed", flow, changes)


@editor_required
@require_http_methods(["GET", "POST"])
def flow_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=pk)
    if request.method == "POST":
        name = flow.name
        target = Target(str(flow.pk), name)
        flow.delete()
        record(request.user, "flow.deleted", target)
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
