"""``manage.py flows``: keep flows in files (and in git) in Auth0's format or Sluice's.

Exit codes: 0 done; 1 nothing was done because of a problem in the flows, the files or the
vault (the messages on standard error say which); 2 the command line was wrong; 4 an export
wrote some flows but not others (standard error names each one left out, and why).
"""

import sys
from argparse import ArgumentTypeError
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit_app.records import COMMAND_LINE
from flows_app import audit_trail, interop, layouts
from flows_app.management.cli import find_flow
from flows_app.models import Flow


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 10_000:
        raise ArgumentTypeError(f"{text!r} is not a size in MB, such as 1 or 25.")
    return value


PARTIAL = 4  # an export wrote some flows and not others


class Command(BaseCommand):
    help = (
        "Export flows to files in Auth0's format or Sluice's, or import flow files "
        "(Sluice exports, Auth0 API responses, Auth0 deploy CLI directories). Exit codes: "
        "0 done, 1 a problem (nothing done), 2 a wrong command line, 4 some flows exported "
        "and others not (named on standard error)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        export = sub.add_parser(
            "export",
            help="Write flows' drafts to DIR, one <name>.json each (DIR - prints one flow).",
        )
        export.add_argument("dir", help="The directory to write to; - prints to standard output.")
        export.add_argument(
            "--format",
            choices=interop.FORMATS,
            help="auth0: exactly what Auth0's POST /api/v2/flows takes; sluice (default): the "
            "same plus test data, description and the Auth0 id.",
        )
        export.add_argument(
            "--layout",
            choices=layouts.LAYOUTS,
            help="Write DIR as Auth0's deploy CLI does, in Auth0's format: directory (flows/ and "
            "flow-vault-connections/) or yaml (tenant.yaml and flows/). Files that already mean "
            "the same are left as they are.",
        )
        chosen = export.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--all", action="store_true", help="Every flow.")
        chosen.add_argument(
            "--flow", action="append", metavar="NAME_OR_ID", help="A flow; repeat for more."
        )
        imported = sub.add_parser(
            "import", help="Create draft flows from files or directories; all or nothing."
        )
        imported.add_argument(
            "paths",
            nargs="+",
            metavar="PATH",
            help="Files or directories: flow files, a deploy CLI directory (flows/, "
            "flow-vault-connections/) or YAML repository (tenant.yaml, or a directory with one).",
        )
        imported.add_argument(
            "--placeholders",
            action="store_true",
            help="Create empty placeholder vault connections for the names the vault lacks.",
        )
        imported.add_argument(
            "--max-size",
            type=_megabytes,
            default=interop.IMPORT_LIMIT / 1_000_000,
            metavar="MB",
            help="The most JSON to read, in MB, all files together (default: 1, as on the "
            "import page).",
        )
        self.add_tenant_commands(sub)

    def add_tenant_commands(self, sub) -> None:
        """Pull and push (``flows_app.management.tenant_cli``), when present."""
        try:
            from flows_app.management import tenant_cli
        except ImportError:
            return
        tenant_cli.add_arguments(sub)

    def handle(self, verb, **options):
        if verb == "export":
            self._export(options)
        elif verb == "import":
            limit = int(options["max_size"] * 1_000_000)
            self._import(options["paths"], options["placeholders"], limit)
        else:
            from flows_app.management import tenant_cli

            tenant_cli.handle(self, verb, options)

    def _export(self, options) -> None:
        flows = (
            list(Flow.objects.order_by("name", "pk"))
            if options["all"]
            else [find_flow(name) for name in options["flow"]]
        )
        if options["layout"]:
            self._export_layout(flows, options)
            return
        options["format"] = options["format"] or interop.SLUICE
        documents = [
            (flow, interop.export_document(flow, format=options["format"])) for flow in flows
        ]
        refused = self._refused(documents) if options["format"] == interop.AUTH0 else {}
        if options["dir"] == "-" and len(documents) != 1:
            raise CommandError("Standard output takes one flow; give a directory.")
        if len(refused) == len(documents):
            raise CommandError("Nothing was exported:\n" + "\n".join(refused.values()))
        kept = [(flow, document) for flow, document in documents if flow.pk not in refused]
        if options["dir"] == "-":
            sys.stdout.write(interop.dump(kept[0][1]))
        else:
            self._write(Path(options["dir"]), kept)
        if refused:
            raise CommandError(
                f"{len(kept)} flow(s) exported; these were not:\n" + "\n".join(refused.values()),
                returncode=PARTIAL,
            )

    @staticmethod
    def _refused(documents: list) -> dict[int, str]:
        """Flows Auth0 would reject, by id: what to say about each."""
        refused = {}
        for flow, document in documents:
            problems = interop.schema_problems(document)
            if problems:
                refused[flow.pk] = (
                    f"{flow.name} (id {flow.pk}) does not fit Auth0's flow schema:\n  "
                    + "\n  ".join(problems)
                )
        return refused

    def _write(self, directory: Path, documents: list) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"Cannot create {directory}: {exc.strerror}.") from None
        names = [interop.file_name(flow.name) for flow, _ in documents]
        for (flow, document), name in zip(documents, names, strict=True):
            if names.count(name) > 1:  # two flows of one name: the id tells them apart
                name = interop.file_name(f"{flow.name} ({flow.pk})")
            try:
                (directory / name).write_text(interop.dump(document))
            except OSError as exc:
                raise CommandError(f"Cannot write {directory / name}: {exc.strerror}.") from None
            self.stdout.write(f"Wrote {directory / name}")

    def _export_layout(self, flows: list[Flow], options) -> None:
        if options["dir"] == "-" or options["format"] == interop.SLUICE:
            raise CommandError("--layout writes Auth0's format into a directory; give one.")
        try:
            files = layouts.export_files(flows, options["layout"])
            done = layouts.write(Path(options["dir"]), files)
        except layouts.LayoutError as exc:
            raise CommandError("Nothing was exported:\n  " + "\n  ".join(exc.problems)) from None
        for line in done:
            self.stdout.write(line)

    def _import(self, paths: list[str], placeholders: bool, limit: int) -> None:
        documents, connections, notes, plain = [], [], [], []
        try:
            for path in paths:
                found = layouts.read(Path(path), limit=limit)
                if found is None:
                    plain.append(Path(path))
                    continue
                documents += found.documents
                connections += found.connections
                notes += found.notes
            if plain:
                documents += interop.read_paths(plain, limit)
            report = layouts.import_found(documents, connections, create_placeholders=placeholders)
        except layouts.LayoutError as exc:
            raise CommandError("Nothing was imported:\n  " + "\n  ".join(exc.problems)) from None
        except interop.ImportFailed as exc:
            problems = [str(p) for p in exc.problems]
            if problems == [interop.too_large(limit)]:
                problems[0] += " Pass --max-size with more MB to import them anyway."
            raise CommandError("Nothing was imported:\n  " + "\n  ".join(problems)) from None
        audit_trail.imported(COMMAND_LINE, report, source="command line")
        for line in [*notes, *layouts.connection_notes(connections), *report.lines()]:
            self.stdout.write(line)
