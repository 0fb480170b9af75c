import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flows_app.engine import execute
from flows_app.management.cli import find_flow, read_json
from flows_app.models import Run, StepRun
from flows_app.services import InvalidFlow, create_run
from flows_app.tasks import Heartbeat, past_time_limit
from sluice import logs, metrics


class Command(BaseCommand):
    help = (
        "Run a flow in the foreground and print each step's status, duration and output. "
        "Runs the latest published version, or the draft with --draft or when none is published."
    )

    def add_arguments(self, parser):
        parser.add_argument("flow", help="The flow's name or id.")
        parser.add_argument(
            "--input",
            help='A JSON file: {"context": …, "fields": …, "vars": …}; '
            "- reads standard input. Default: the flow's test data.",
        )
        parser.add_argument("--draft", action="store_true", help="Run the draft.")

    def handle(self, flow, input, draft, **options):
        target = find_flow(flow)
        data = read_json(input, want_object=True) if input else None
        try:
            run = create_run(target, trigger=Run.Trigger.CLI, input=data, draft=draft)
        except InvalidFlow as exc:
            raise CommandError(
                "The flow has problems:\n  " + "\n  ".join(str(p) for p in exc.problems)
            ) from None
        what = f"version {run.version.number}" if run.version else "the draft"
        self.stdout.write(f"Run {run.pk} of {target.name} ({what})")
        metrics.run_started(run)
        with logs.run_context(run.pk, target.pk), Heartbeat(run.pk):
            execute(
                run,
                on_progress=self._report,
                should_stop=past_time_limit,
                step_timeout=settings.STEP_TIMEOUT,
            )
        self.stdout.write(f"Run {run.pk} {run.status}" + (f": {run.error}" if run.error else ""))
        if run.status != Run.Status.SUCCEEDED:
            sys.exit(1)

    def _report(self, run: Run, step: StepRun | None) -> None:
        if step is None:
            metrics.run_ended(run)
            return
        logs.set_step(step.step_id if step.status == StepRun.Status.RUNNING else None)
        metrics.step_ended(step)
        if step.status == StepRun.Status.RUNNING:
            return
        self.stdout.write(f"  {step.step_id:<24} {step.status:<9} {step.duration_ms or 0:>6} ms")
        for warning in step.warnings:
            self.stdout.write(f"    warning: {warning}")
        if step.status == StepRun.Status.SUCCEEDED:
            self.stdout.write(_indent(json.dumps(step.output, indent=2, sort_keys=True)))
        else:
            self.stdout.write(f"    error: {step.error}")
            if step.error_body is not None:
                self.stdout.write(_indent(json.dumps(step.error_body, indent=2)))


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
