"""The Audit page (admins only) and its exports as CSV or JSON lines."""

import csv
import json
from collections.abc import Iterator
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit_app.forms import AuditFilters
from audit_app.models import Entry

PAGE_SIZE = 50
COLUMNS = ("time", "person", "action", "verb", "kind", "object_id", "object", "changes", "address")
EXPORTS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def staff_required(view):
    """Only admins read the audit log; anonymous visitors never get this far."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only admins can read the audit log.")
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    filters = AuditFilters(request.GET)
    if not filters.is_valid():
        return _page(request, filters, None, status=400)
    page = Paginator(filters.entries(), PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, filters, page)


def _page(request, filters, page, status=200) -> HttpResponse:
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(request.GET.get(name) for name in filters.fields),
    }
    return render(request, "audit/list.html", context, status=status)


@staff_required
@require_GET
def audit_export(request: HttpRequest, format: str) -> HttpResponse | StreamingHttpResponse:
    """Every entry the filters select, oldest last, as CSV or JSON lines."""
    filters = AuditFilters(request.GET)
    if not filters.is_valid():
        return _page(request, filters, None, status=400)
    rows = (_row(entry) for entry in filters.entries().iterator(chunk_size=1000))
    lines = _csv(rows) if format == "csv" else (json.dumps(row) + "\n" for row in rows)
    response = StreamingHttpResponse(lines, content_type=EXPORTS[format])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="sluice-audit-{stamp}.{format}"'
    return response


def _row(entry: Entry) -> dict:
    return {
        "time": entry.at.isoformat(),
        "person": entry.actor_label,
        "action": entry.action,
        "verb": entry.verb,
        "kind": entry.kind,
        "object_id": entry.object_id,
        "object": entry.object_label,
        "changes": entry.changes,
        "address": entry.address or "",
    }


class _Line:
    """A file-like object csv writes one row into at a time."""

    def write(self, text: str) -> str:
        return text


def _csv(rows: Iterator[dict]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for row in rows:
        cells = [json.dumps(row[c]) if c == "changes" else str(row[c]) for c in COLUMNS]
        yield writer.writerow([_inert(cell) for cell in cells])


def _inert(cell: str) -> str:
    """Keep a spreadsheet from reading a flow's or person's name as a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


urlpatterns = [
    path("", audit_list, name="audit"),
    path("export.csv", audit_export, {"format": "csv"}, name="audit_export_csv"),
    path("export.jsonl", audit_export, {"format": "jsonl"}, name="audit_export_jsonl"),
]
