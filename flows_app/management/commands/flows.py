import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flows_app.management.cli import find_flow, read_json
from flows_app.services import InvalidFlow, export_flow, import_flow


class Command(BaseCommand):
    help = "Export a flow as JSON (connections by name, never secrets), or import one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        export = sub.add_parser("export", help="Print a flow's JSON, or write it to a file.")
        export.add_argument("flow", help="The flow's name or id.")
        export.add_argument("--output", "-o", help="Write to this file instead.")
        imported = sub.add_parser("import", help="Create a flow from an exported file.")
        imported.add_argument("path", help="The JSON file; - reads standard input.")

    def handle(self, verb, **options):
        if verb == "export":
            self._export(options["flow"], options.get("output"))
        else:
            self._import(options["path"])

    def _export(self, name: str, output: str | None) -> None:
        text = json.dumps(export_flow(find_flow(name)), indent=2, sort_keys=True) + "\n"
        if output:
            Path(output).write_text(text)
            self.stdout.write(f"Wrote {output}")
        else:
            self.stdout.write(text, ending="")

    def _import(self, path: str) -> None:
        try:
            flow = import_flow(read_json(path))
        except InvalidFlow as exc:
            raise CommandError(
                "Nothing was imported:\n  " + "\n  ".join(str(p) for p in exc.problems)
            ) from None
        self.stdout.write(
            f"Imported {flow.name} (id {flow.pk}) with "
            f"{len(flow.draft.get('actions', []))} step(s)."
        )
