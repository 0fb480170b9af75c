"""Run history: the run list, the run page, live progress, run again, retry and cancel.

Live progress has two paths. With a shared channel layer (``settings.CHANNEL_LAYER_URL``)
the pages carry ``data-live-socket`` and ``static/js/live.js`` refetches their partial
whenever ``flows_app.events`` says a run changed. Without one, the partial of a run that
is not final polls itself with ``hx-trigger="every 2s"`` (every 5s while it waits in a
Delay), and the final partial is rendered without the trigger, which stops the polling.
The steps are drawn by ``flows_app.views.timeline``, nested along If/then branches.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from accounts_app.access import editor_required
from flows_app.models import Flow, Run, StepRun
from flows_app.retries import CannotRetry, retry_refusal, retry_run
from flows_app.services import InvalidFlow, cancel_run, start_run
from flows_app.views.timeline import (
    TimelineStep,
    duration_text,
    flatten,
    pretty_json,
    time_left,
    timeline,
)
from sluice import metrics

PAGE_SIZE = 50
LIST_FIELDS = (
    "id",
    "flow_id",
    "flow__name",
    "version_id",
    "version__number",
    "version_number",
    "status",
    "trigger",
    "created_at",
    "started_at",
    "finished_at",
    "resume_at",
    "retry_of_id",
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_partial(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def live_mode() -> str:
    """Say "socket" when a shared channel layer carries events here, else "poll"."""
    return "socket" if settings.CHANNEL_LAYER_URL else "poll"


def run_duration(run: Run) -> str:
    """How long the run took, or has been running so far."""
    if not run.started_at:
        return ""
    end = run.finished_at or timezone.now()
    text = duration_text(max(0, round((end - run.started_at).total_seconds() * 1000)))
    return text if run.finished_at else f"{text} so far"


def decorate_rows(runs: Iterable[Run]) -> list[Run]:
    """Attach what a row of the run table shows, with one query for the failed steps."""
    rows = list(runs)
    failed_ids = [run.pk for run in rows if run.status == Run.Status.FAILED]
    failed_steps = dict(
        StepRun.objects.filter(run__in=failed_ids, status=StepRun.Status.FAILED).values_list(
            "run_id", "step_id"
        )
        if failed_ids
        else []
    )
    for run in rows:
        run.duration_text = run_duration(run)  # type: ignore[attr-defined]
        run.failed_step = failed_steps.get(run.pk, "")  # type: ignore[attr-defined]
    return rows


def list_queryset() -> QuerySet[Run]:
    """Runs with just what a table row needs: no definitions, inputs or results."""
    return Run.objects.select_related("flow", "version").only(*LIST_FIELDS)


def any_active(runs: Iterable[Run]) -> bool:
    return any(not run.is_final for run in runs)


# The run list: filters and keyset pagination.


@dataclass(frozen=True)
class Cursor:
    """A position in the list: (created_at, id) of a row, as ``<microseconds>.<id>``.

    A dataclass, not a NamedTuple: mypy 2.4 with django-stubs loops forever on a NamedTuple
    with methods next to the form below.
    """

    created_at: datetime
    pk: int

    @classmethod
    def of(cls, run: Run) -> "Cursor":
        return cls(run.created_at, run.pk)

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        try:
            micros, pk = (text or "").split(".")
            return cls(EPOCH + timedelta(microseconds=int(micros)), int(pk))
        except (ValueError, OverflowError):
            return None

    def __str__(self) -> str:
        return f"{(self.created_at - EPOCH) // timedelta(microseconds=1)}.{self.pk}"

    def older(self) -> Q:
        return Q(created_at__lte=self.created_at) & ~Q(created_at=self.created_at, id__gte=self.pk)

    def newer(self) -> Q:
        return Q(created_at__gte=self.created_at) & ~Q(created_at=self.created_at, id__lte=self.pk)


class Page(NamedTuple):
    runs: list[Run]
    older: Cursor | None
    newer: Cursor | None


def keyset_page(runs: QuerySet[Run], after: Cursor | None, before: Cursor | None) -> Page:
    """One page of runs, newest first: older than ``after``, or just newer than ``before``."""
    if before:
        rows = list(runs.filter(before.newer()).order_by("created_at", "id")[: PAGE_SIZE + 1])
        more_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        return Page(rows, Cursor.of(rows[-1]) if rows else None, _first(rows, more_newer))
    if after:
        runs = runs.filter(after.older())
    rows = list(runs.order_by("-created_at", "-id")[: PAGE_SIZE + 1])
    more_older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    older = Cursor.of(rows[-1]) if more_older else None
    return Page(rows, older, _first(rows, after is not None))


def _first(rows: list[Run], more: bool) -> Cursor | None:
    return Cursor.of(rows[0]) if rows and more else None


class RunFilters(forms.Form):
    flow = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(choices=[("", "Any status"), *Run.Status.choices], required=False)
    trigger = forms.ChoiceField(choices=[("", "Any trigger"), *Run.Trigger.choices], required=False)

    def __init__(self, data, flows: list[tuple[int, str]]):
        super().__init__(data)
        cast(forms.ChoiceField, self.fields["flow"]).choices = [("", "All flows"), *flows]
        # "from" is a Python keyword, hence the fields added by name.
        for name, label in (("from", "From"), ("to", "To")):
            self.fields[name] = forms.DateField(
                required=False, label=label, widget=forms.DateInput(attrs={"type": "date"})
            )

    def apply(self, runs: QuerySet[Run]) -> QuerySet[Run]:
        """Apply the filters that are valid; an invalid one is shown and ignored."""
        self.is_valid()
        data = self.cleaned_data
        lookups: dict[str, Any] = {
            name: data[name] for name in ("flow", "status", "trigger") if data.get(name)
        }
        if data.get("from"):
            lookups["created_at__gte"] = _start_of(data["from"])
        if data.get("to"):
            lookups["created_at__lt"] = _start_of(data["to"] + timedelta(days=1))
        return runs.filter(**lookups)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@require_GET
@vary_on_headers("HX-Request")
def run_list(request: HtmxHttpRequest) -> HttpResponse:
    flows = list(Flow.objects.order_by("name").values_list("pk", "name"))
    filters = RunFilters(request.GET, flows)
    page = keyset_page(
        filters.apply(list_queryset()),
        after=Cursor.parse(request.GET.get("after")),
        before=Cursor.parse(request.GET.get("before")),
    )
    runs = decorate_rows(page.runs)
    context = {
        "filters": filters,
        "runs": runs,
        "older_url": _page_url(request, "after", page.older),
        "newer_url": _page_url(request, "before", page.newer),
        "newest_url": _page_url(request, None, None) if page.newer else "",
        "filtered": any(request.GET.get(name) for name in filters.fields),
        "live": live_mode(),
        "poll": live_mode() == "poll" and any_active(runs),
    }
    template = "runs/list.html#runs" if wants_partial(request) else "runs/list.html"
    return render(request, template, context)


def _page_url(request: HttpRequest, key: str | None, cursor: Cursor | None) -> str:
    if key and cursor is None:
        return ""
    query = request.GET.copy()
    for name in ("after", "before"):
        query.pop(name, None)
    if key:
        query[key] = str(cursor)
    return f"{request.path}?{query.urlencode()}" if query else request.path


# The run page.


def _get_run(pk: int) -> Run:
    return get_object_or_404(
        Run.objects.select_related("flow", "version", "created_by", "cancelled_by", "retry_of"),
        pk=pk,
    )


def run_context(request: HttpRequest, run: Run) -> dict[str, Any]:
    steps = timeline(run)
    until = waiting_until(run, steps)
    return {
        "run": run,
        "duration": run_duration(run),
        "steps": steps,
        "waiting_until": until,
        "waiting_in": time_left(until),
        "cancelled_wait": cancelled_wait(run, steps),
        "input_json": pretty_json(run.input),
        "result_json": pretty_json(run.result) if run.result is not None else "",
        "cancelling": run.status == Run.Status.RUNNING and run.cancel_requested_at is not None,
        "can_run": request.user.can_edit_flows,  # type: ignore[union-attr]
        "retries": list(run.retries.order_by("created_at", "id").values_list("pk", flat=True)),
        "retry_refusal": retry_refusal(run) if run.status == Run.Status.FAILED else "",
        "live": live_mode(),
        "poll": live_mode() == "poll" and not run.is_final,
        "poll_every": "5s" if run.status == Run.Status.WAITING else "2s",
    }


def waiting_until(run: Run, steps: list[TimelineStep]) -> datetime | None:
    """When a waiting run goes on: its ``resume_at``, else the end of its waiting Delay."""
    if run.status != Run.Status.WAITING:
        return None
    delays = (e.delay for e in flatten(steps) if e.delay and e.delay.state == "waiting")
    return run.resume_at or next((delay.until for delay in delays), None)


def cancelled_wait(run: Run, steps: list[TimelineStep]) -> TimelineStep | None:
    """The Delay a cancelled run was waiting in when it was cancelled, if it was."""
    if run.status != Run.Status.CANCELLED:
        return None
    return next((e for e in flatten(steps) if e.delay and e.delay.state == "cancelled"), None)


@require_GET
@vary_on_headers("HX-Request")
def run_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    run = _get_run(pk)
    template = "runs/detail.html#run" if wants_partial(request) else "runs/detail.html"
    return render(request, template, run_context(request, run))


@require_POST
@editor_required
def run_again(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Start a new run of the same flow, on the same choice (published or draft), same input."""
    run = _get_run(pk)
    try:
        new_run = start_run(
            run.flow,
            trigger=Run.Trigger.MANUAL,
            input=run.input,
            user=request.user,
            draft=run.version_id is None,
        )
    except InvalidFlow as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        messages.error(request, f"{run.flow.name} cannot run: {problems}")
        return redirect("run_detail", pk=run.pk)
    return redirect("run_detail", pk=new_run.pk)


@require_POST
@editor_required
def run_retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Retry a failed run from its failed step: a new run that reuses what succeeded."""
    run = _get_run(pk)
    try:
        retry = retry_run(run, user=request.user)
    except CannotRetry as exc:
        messages.error(request, str(exc))
        return redirect("run_detail", pk=run.pk)
    except InvalidFlow as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        messages.error(request, f"Run #{run.pk} cannot be retried: {problems}")
        return redirect("run_detail", pk=run.pk)
    messages.success(request, f"Retrying run #{run.pk} from its failed step.")
    return redirect("run_detail", pk=retry.pk)


@require_POST
@editor_required
def run_cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    run = _get_run(pk)
    if not cancel_run(run, user=request.user):
        messages.info(request, f"Run {run.pk} had already finished.")
    elif run.status == Run.Status.CANCELLED:
        metrics.run_ended(run)
        messages.success(request, f"Cancelled run {run.pk} before it started.")
    else:
        messages.success(request, f"Cancelling run {run.pk}: it stops before its next step.")
    return redirect("run_detail", pk=run.pk)


urlpatterns = [
    path("runs/", run_list, name="run_list"),
    path("runs/<int:pk>/", run_detail, name="run_detail"),
    path("runs/<int:pk>/again/", run_again, name="run_again"),
    path("runs/<int:pk>/cancel/", run_cancel, name="run_cancel"),
    path("runs/<int:pk>/retry/", run_retry, name="run_retry"),
]
