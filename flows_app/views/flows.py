"""The flow list and the flow page: versions, recent runs, and the Run form."""

import json
from typing import Any, cast

from django import forms
from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts_app.access import editor_required
from flows_app.json_limits import NUL_MESSAGE, TooDeep, has_nul, loads
from flows_app.models import Flow, FlowVersion, Run
from flows_app.services import InvalidFlow, start_run
from flows_app.views.runs import HtmxHttpRequest, decorate_rows, list_queryset, pretty_json

RECENT_RUNS = 10
INPUT_KEYS = ("context", "fields", "vars")


@require_GET
def flow_list(request: HtmxHttpRequest) -> HttpResponse:
    last_run = Run.objects.filter(flow=OuterRef("pk")).order_by("-created_at", "-id")
    flows = list(
        Flow.objects.select_related("owner").annotate(
            last_run_id=Subquery(last_run.values("pk")[:1]),
            last_run_status=Subquery(last_run.values("status")[:1]),
            last_run_at=Subquery(last_run.values("created_at")[:1]),
        )
    )
    labels = dict(Run.Status.choices)
    for flow in flows:
        flow.last_run_label = labels.get(flow.last_run_status, "")  # type: ignore[attr-defined]
    can_edit = getattr(request.user, "can_edit_flows", False)
    offer_sample = not flows and not settings.PRODUCTION and can_edit
    return render(request, "flows/list.html", {"flows": flows, "offer_sample": offer_sample})


class RunForm(forms.Form):
    """The input of a manual run, as JSON, and which definition to run."""

    PUBLISHED, DRAFT = "published", "draft"

    input = forms.CharField(
        label="Input (JSON)",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code"}),
        help_text="An object with context, fields and vars, as the flow's templates read them.",
    )
    source = forms.ChoiceField(label="Run", widget=forms.RadioSelect, initial=PUBLISHED)

    def __init__(self, *args, latest: FlowVersion | None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(self.DRAFT, "The draft")]
        if latest:
            choices.insert(0, (self.PUBLISHED, f"Latest published version (v{latest.number})"))
        source = cast(forms.ChoiceField, self.fields["source"])
        source.choices, source.initial = choices, choices[0][0]

    def clean_input(self) -> dict[str, Any]:
        try:
            data = loads(self.cleaned_data["input"], "The input")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        except TooDeep as exc:
            raise forms.ValidationError(str(exc)) from None
        if not isinstance(data, dict):
            raise forms.ValidationError("The input is a JSON object with context, fields, vars.")
        unknown = sorted(set(data) - set(INPUT_KEYS))
        if unknown:
            raise forms.ValidationError(
                f"Unknown key {', '.join(unknown)}: the input has only context, fields and vars."
            )
        for key in INPUT_KEYS:
            if key in data and not isinstance(data[key], dict):
                raise forms.ValidationError(f"{key} must be a JSON object.")
        if has_nul(data):
            raise forms.ValidationError(NUL_MESSAGE)
        return data


def _initial_input(flow: Flow) -> str:
    return pretty_json(flow.test_data or {key: {} for key in INPUT_KEYS})


@require_http_methods(["GET", "POST"])
def flow_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The flow page; a POST is its Run form."""
    if request.method == "POST":
        return flow_run(request, pk)
    flow = get_object_or_404(Flow, pk=pk)
    versions = _versions(flow)
    form = RunForm(initial={"input": _initial_input(flow)}, latest=_latest(versions))
    return _page(request, flow, versions, form)


@editor_required
def flow_run(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Start a run from the flow page, or show the form again with what went wrong."""
    flow = get_object_or_404(Flow, pk=pk)
    versions = _versions(flow)
    form = RunForm(request.POST, latest=_latest(versions))
    if not form.is_valid():
        return _page(request, flow, versions, form)
    started = _start(flow, form, request.user)
    if isinstance(started, InvalidFlow):
        return _page(request, flow, versions, form, problems=started.problems)
    return redirect("run_detail", pk=started.pk)


def _versions(flow: Flow) -> list[FlowVersion]:
    return list(flow.versions.select_related("created_by").order_by("-number"))


def _latest(versions: list[FlowVersion]) -> FlowVersion | None:
    return versions[0] if versions else None


def _start(flow: Flow, form: RunForm, user) -> Run | InvalidFlow:
    draft = form.cleaned_data["source"] == RunForm.DRAFT
    try:
        run = start_run(
            flow,
            trigger=Run.Trigger.MANUAL,
            input=form.cleaned_data["input"],
            user=user,
            draft=draft,
        )
    except InvalidFlow as exc:
        return exc
    return run


def _page(request, flow, versions, form, problems=()) -> HttpResponse:
    recent = decorate_rows(list_queryset().filter(flow=flow)[:RECENT_RUNS])
    return render(
        request,
        "flows/detail.html",
        {
            "flow": flow,
            "versions": versions,
            "form": form,
            "problems": problems,
            "runs": recent,
            "can_run": request.user.can_edit_flows,
        },
    )
