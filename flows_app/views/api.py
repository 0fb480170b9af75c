"""The HTTP API: start runs of a flow with its bearer token, read a run, retry a failed one.

A run reads like Auth0's ``GET /api/v2/flows/{flow_id}/executions/{id}`` where Auth0 has a
field (``created_at``, ``updated_at``, ``started_at``, ``ended_at``, ``status``), plus
Sluice's own record of every step. ``status`` is Sluice's: ``queued``, ``running``,
``waiting`` (in a Delay until ``resume_at``), then ``succeeded``, ``failed`` or ``cancelled``;
``final`` says it will not change any more. ``retry_of`` and ``retries`` link a retry and
the run it retries. A step's ``status`` is ``running``, ``waiting``, ``succeeded``,
``failed``, ``skipped`` (on the branch an If/then did not take), ``cancelled`` or
``pinned`` (a test run took the draft's pinned output instead of running it); ``reused``
is true on a step a retry copied from the run it retries; ``allowed_failure`` is true on a
failed step whose failure the flow allows (the run went on); its ``detail`` holds an
If/then's ``branch`` and ``checks`` or a Delay's ``seconds`` and ``until``, its ``vars``
the shared variables after it when it changed them.
"""

import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse

from flows_app import waiting
from flows_app.api_auth import api_error, api_view, authenticate, bearer_api, no_store
from flows_app.definition import Problem, all_steps
from flows_app.engine import may_fail
from flows_app.json_limits import TooDeep, has_nul, loads
from flows_app.models import Flow, FlowToken, Run, StepRun
from flows_app.plain_sql import column, records, rows, select
from flows_app.retries import CannotRetry, retry_run
from flows_app.services import InvalidFlow, published_version, start_run
from flows_app.views.timeline import masked_condition_inputs

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_WAIT = 60  # seconds a caller may wait for a run's end
INPUT_KEYS = ("context", "fields", "vars")


class BadInput(Exception):
    """The request body is not a run's input; the message says why."""


class BodyTooLarge(Exception):
    pass


@api_view
async def start(request: HttpRequest, flow_id: int) -> HttpResponse:
    """Start a run of the flow's latest published version. With ``Prefer: wait=N`` (or
    ``?wait=N``), answer once the run has ended, if it does within N seconds."""
    asked_at = time.monotonic()
    started = await sync_to_async(_start)(request, flow_id)
    if isinstance(started, HttpResponse):
        return no_store(started)
    run, wait = started
    ended = await waiting.wait_for_end(run.pk, wait, asked_at)
    return no_store(await sync_to_async(_waited_answer)(request, run, wait, ended))


def _start(request: HttpRequest, flow_id: int) -> HttpResponse | tuple[Run, int]:
    """Check the token, the wait asked for and the input, and queue the run. Return the 202
    answer when the caller does not wait, the run and the seconds to wait when it does."""
    token = authenticate(request, ("POST",))
    if isinstance(token, HttpResponse):
        return token
    if flow_id != token.flow_id:
        exists = Flow.objects.filter(pk=flow_id).exists()
        return _forbidden("flow") if exists else _not_found("flow")
    flow = token.flow
    try:
        wait = requested_wait(request)
        data = parse_input(read_body(request))
    except BodyTooLarge:
        return api_error(413, "too_large", f"The body is larger than {MAX_BODY} bytes.")
    except BadInput as exc:
        return api_error(400, "invalid_input", str(exc))
    version = published_version(token.latest_version_id)  # type: ignore[attr-defined]
    if version is None:
        return api_error(409, "not_published", f"The flow {flow.name!r} is not published yet.")
    try:
        run = start_run(flow, trigger=Run.Trigger.API, input=data, version=version)
    except InvalidFlow as exc:
        return _invalid_flow(exc)
    log.info("Run %s of flow %s started over the API with token %s.", run.pk, flow.pk, token.pk)
    return (run, wait) if wait else _queued(request, run)


def _queued(request: HttpRequest, run: Run, **extra: Any) -> JsonResponse:
    """202: the run is queued; poll its ``api_url`` (also in ``Location``)."""
    links = _links(request, run)
    response = JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            **links,
            "flow": {"id": run.flow_id, "name": run.flow.name},
            "version": run.version_number,
            **extra,
        },
        status=202,
    )
    response["Location"] = links["api_url"]
    return response


def _invalid_flow(exc: InvalidFlow) -> JsonResponse:
    return api_error(
        422,
        "invalid_flow",
        "The published version of the flow has problems; nothing was run.",
        problems=[_problem(p) for p in exc.problems],
    )


@api_view
async def retry(request: HttpRequest, run_id: int) -> HttpResponse:
    """Retry a failed run from its failed step (see ``flows_app.retries``); ``Prefer: wait=N``
    waits for the retry's end as starting a run does."""
    asked_at = time.monotonic()
    started = await sync_to_async(_retry)(request, run_id)
    if isinstance(started, HttpResponse):
        return no_store(started)
    run, wait = started
    ended = await waiting.wait_for_end(run.pk, wait, asked_at)
    return no_store(await sync_to_async(_waited_answer)(request, run, wait, ended))


def _retry(request: HttpRequest, run_id: int) -> HttpResponse | tuple[Run, int]:
    token = authenticate(request, ("POST",))
    if isinstance(token, HttpResponse):
        return token
    run = Run.objects.select_related("flow", "version").filter(pk=run_id).first()
    if run is None:
        return _not_found("run")
    if run.flow_id != token.flow_id:
        return _forbidden("run")
    try:
        wait = requested_wait(request)
        retry = retry_run(run)
    except BadInput as exc:
        return api_error(400, "invalid_input", str(exc))
    except CannotRetry as exc:
        return api_error(409, "not_retryable", str(exc))
    except InvalidFlow as exc:
        return _invalid_flow(exc)
    log.info("Run %s retries run %s over the API with token %s.", retry.pk, run.pk, token.pk)
    return (retry, wait) if wait else _queued(request, retry, retry_of=run.pk)


def _waited_answer(request: HttpRequest, run: Run, wait: int, ended: bool) -> JsonResponse:
    """The run as it stands after the wait: 200 once final, 202 while it still runs or
    sleeps in a Delay."""
    steps = _as_it_stands(run)
    response = JsonResponse(run_record(request, run, steps), status=200 if run.is_final else 202)
    response["Preference-Applied"] = f"wait={wait}"
    if not run.is_final:
        response["Location"] = _links(request, run)["api_url"]
    return response


def _as_it_stands(run: Run) -> list[StepRun]:
    """Read again what the worker wrote of ``run`` (this process made it, with its flow and
    version), and its steps: in plain SQL, two queries the ORM would spend longer building
    than the database takes to answer, on every run-and-wait."""
    [fresh] = rows(_RUN_AS_IT_STANDS, [run.pk], _WORKER_WRITES)
    for field, value in zip(_WORKER_WRITES, fresh, strict=True):
        setattr(run, field.attname, value)
    return records(StepRun, _STEPS_OF_RUN, [run.pk])


# Every column of a run but the input and definition it was made with.
_WORKER_WRITES = [f for f in Run._meta.concrete_fields if f.name not in ("input", "definition")]
_RUN_AS_IT_STANDS = f"{select(Run, _WORKER_WRITES)} WHERE {column(Run, 'id')} = %s"
_STEPS_OF_RUN = (
    f"{select(StepRun)} WHERE {column(StepRun, 'run')} = %s"
    f" ORDER BY {column(StepRun, 'position')}, {column(StepRun, 'id')}"
)


def requested_wait(request: HttpRequest) -> int:
    """The seconds the caller asks to wait for the run's end (0: answer at once), from
    ``Prefer: wait=N`` (RFC 7240) or, for clients that cannot set headers, ``?wait=N``."""
    raw = request.GET.get("wait")
    if raw is None:
        raw = _preference(request.headers.get("Prefer", ""), "wait")
    if raw is None:
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_WAIT:
        raise BadInput(f"wait must be a whole number of seconds from 0 to {MAX_WAIT}, not {raw!r}.")
    return int(raw)


def _preference(header: str, name: str) -> str | None:
    """A preference's value in a Prefer header: ``respond-async, wait=10``."""
    for preference in header.split(","):
        key, _, value = preference.split(";")[0].partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None


@bearer_api("GET")
def run_detail(request: HttpRequest, token: FlowToken, run_id: int) -> JsonResponse:
    run = with_names(Run.objects).filter(pk=run_id).first()
    if run is None:
        return _not_found("run")
    if run.flow_id != token.flow_id:
        return _forbidden("run")
    return JsonResponse(run_record(request, run))


def read_body(request: HttpRequest) -> bytes:
    """Read at most MAX_BODY bytes, refusing a larger body before reading it if it says so."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        raise BodyTooLarge
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise BodyTooLarge
    return body


def parse_input(body: bytes) -> dict[str, Any]:
    """The run's input from a JSON object body; an empty body is an empty input."""
    if not body.strip():
        return {}
    try:
        data = loads(body, "The body", parse_constant=_refuse_constant)
    except TooDeep as exc:
        raise BadInput(str(exc)) from None
    except ValueError as exc:
        raise BadInput(f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput('The body must be a JSON object: {"context": {…}, "fields": {…}, …}.')
    unknown = sorted(set(data) - set(INPUT_KEYS))
    if unknown:
        raise BadInput(f"Unknown keys {unknown}; the input may have {', '.join(INPUT_KEYS)}.")
    for key in INPUT_KEYS:
        if key in data and not isinstance(data[key], dict):
            raise BadInput(f"{key} must be a JSON object.")
    if has_nul(data):
        raise BadInput("Strings in the input cannot contain NUL characters (\\u0000).")
    return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def with_names(runs):
    """Runs with what their record shows of their flow and version: the flow's name and the
    version's number, not the flow's draft and editing history or the version's definition
    (the run has its own copy)."""
    heavy = ("flow__draft", "flow__undo", "flow__redo", "flow__test_data", "version__definition")
    return runs.select_related("flow", "version").defer(*heavy)


def run_record(request: HttpRequest, run: Run, steps: list[StepRun] | None = None) -> dict:
    """The run as the API shows it (``steps``: its step records, when already read)."""
    steps = list(run.steps.all()) if steps is None else steps
    may_fail_ids = {str(step.get("id")) for step in all_steps(run.definition) if may_fail(step)}
    return {
        "id": run.pk,
        "flow": {"id": run.flow_id, "name": run.flow.name},
        "version": run.version.number if run.version else None,
        "status": run.status,
        "final": run.is_final,
        "trigger": run.trigger,
        "retry_of": run.retry_of_id,
        "retries": _retries(run),
        "created_at": run.created_at,
        "updated_at": _updated_at(run, steps),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "ended_at": run.finished_at,
        "resume_at": run.resume_at if run.status == Run.Status.WAITING else None,
        "resumed_at": run.resumed_at,
        "error": run.error,
        "error_message": _error_message(run, steps),
        "result": run.result,
        "input": run.input,
        "steps": [_step_record(step, step.step_id in may_fail_ids) for step in steps],
        **_links(request, run),
    }


def _retries(run: Run) -> list[int]:
    """The runs that retry ``run``: only a failed run can have any."""
    if run.status != Run.Status.FAILED:
        return []
    return list(run.retries.order_by("created_at", "id").values_list("pk", flat=True))


def _step_record(step: StepRun, failure_allowed: bool) -> dict[str, Any]:
    return {
        "step_id": step.step_id,
        "action_type": step.action_type,
        "status": step.status,
        "allowed_failure": failure_allowed and step.status == StepRun.Status.FAILED,
        "reused": step.reused,
        "position": step.position,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "duration_ms": step.duration_ms,
        "inputs": masked_condition_inputs(step),
        "output": step.output,
        "detail": step.detail,
        "vars": step.vars,
        "error": step.error,
        "error_body": step.error_body,
        "http_status": step.http_status,
        "warnings": step.warnings,
    }


def _error_message(run: Run, steps: list[StepRun]) -> str:
    """Why the run failed in the words of the step that ended it (a Show error message's
    text), without the "Step … failed:" the run's ``error`` puts before them."""
    if run.status != Run.Status.FAILED:
        return ""
    failed = [(s.finished_at, s.error) for s in steps if s.status == "failed" and s.finished_at]
    ending = max(failed, default=None)
    return ending[1] if ending and ending[1] in run.error else run.error


def _updated_at(run: Run, steps: list[StepRun]):
    """The last time anything about the run was written (Auth0's ``updated_at``)."""
    times = [run.created_at, run.started_at, run.resumed_at, run.finished_at, run.heartbeat_at]
    times += [t for step in steps for t in (step.started_at, step.finished_at)]
    return max(t for t in times if t is not None)


def _links(request: HttpRequest, run: Run) -> dict[str, str]:
    return {
        "url": request.build_absolute_uri(reverse("run_detail", args=[run.pk])),
        "api_url": request.build_absolute_uri(reverse("api_run", args=[run.pk])),
    }


def _problem(problem: Problem) -> dict[str, str | None]:
    return {"message": problem.message, "step_id": problem.step_id, "input": problem.input}


def _not_found(what: str) -> JsonResponse:
    return api_error(404, "not_found", f"There is no such {what}.")


def _forbidden(what: str) -> JsonResponse:
    return api_error(
        403, "forbidden", f"This token is for another flow; it cannot use this {what}."
    )


urlpatterns = [
    path("api/flows/<int:flow_id>/runs", start, name="api_start_run"),
    path("api/runs/<int:run_id>", run_detail, name="api_run"),
    path("api/runs/<int:run_id>/retry", retry, name="api_retry_run"),
]
