"""``flows pull`` and ``flows push``: a tenant's flows in and out over the Management API.

Wired into the ``flows`` command by :func:`add_arguments` and :func:`handle`; the work is done
by :mod:`flows_app.tenant`. Errors go to standard error (as CommandError) with the exit
codes in :data:`EXIT_CODES`, so scripts can tell a flow to fix from a tenant that said no.
"""

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit_app.records import COMMAND_LINE, record
from flows_app import audit_trail, tenant
from flows_app.interop import ImportFailed
from flows_app.management.cli import find_flow
from vault_app.crypto import VaultKeyError
from vault_app.models import Connection

VERBS = ("pull", "push")
DONE, PROBLEM, REFUSED = 0, 1, 3
EXIT_CODES = """exit codes:
  0  done, or nothing to change
  1  a problem in the flow, or a connection missing in Sluice or in the tenant;
     nothing was written
  2  wrong usage
  3  the tenant refused (Auth0's own message is shown) or could not be reached

The connection's machine-to-machine application needs the scopes read:flows and
read:flows_vault_connections; pushing also needs create:flows and update:flows."""


def add_arguments(sub: Any) -> None:
    """Add the pull and push subcommands to the flows command's subparsers."""
    pull = sub.add_parser(
        "pull",
        help="Import an Auth0 tenant's flows as drafts.",
        description="Import an Auth0 tenant's flows as drafts: all of them, or those given "
        "with --flow. Connections are matched to the vault by name; all or nothing.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_argument(pull)
    pull.add_argument(
        "--flow",
        dest="flow_ids",
        action="extend",
        nargs="+",
        metavar="ID",
        help="Pull only these flows (af_…); may be repeated.",
    )
    pull.add_argument(
        "--placeholders",
        action="store_true",
        help="Create a placeholder vault connection (no secrets) for every tenant "
        "connection the vault lacks, instead of refusing.",
    )
    pull.add_argument(
        "--list",
        action="store_true",
        help="Only list the tenant's flows and vault connections; import nothing.",
    )
    push = sub.add_parser(
        "push",
        help="Create or update a flow in an Auth0 tenant from its Sluice draft.",
        description="Send a flow's draft to an Auth0 tenant: it updates the tenant flow it "
        "was pulled from (else the only one of the same name), or creates one. "
        "Connection names are mapped to the tenant's vault connections; a name the "
        "tenant lacks stops the push before anything is written.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_argument(push)
    push.add_argument("flow", help="The Sluice flow's name or id.")
    push.add_argument(
        "--dry-run",
        action="store_true",
        help="Print the unified diff from the tenant's flow to Sluice's; write nothing.",
    )


def _connection_argument(parser: Any) -> None:
    parser.add_argument(
        "--connection",
        required=True,
        metavar="NAME",
        help="The auth0 vault connection whose tenant to use.",
    )


def handle(command: BaseCommand, verb: str, options: dict[str, Any]) -> None:
    """Carry out ``flows pull`` or ``flows push``; raise CommandError with the exit code."""
    connection = auth0_connection(options["connection"])
    try:
        if verb == "pull":
            _pull(command, connection, options)
        else:
            _push(command, connection, find_flow(options["flow"]), options["dry_run"])
    except tenant.TenantError as error:
        raise CommandError(f"The tenant refused: {error}", returncode=REFUSED) from None
    except VaultKeyError as error:
        raise CommandError(f"{error} Enter the connection's secrets again.") from None
    except ValueError as error:
        raise CommandError(str(error), returncode=PROBLEM) from None


def auth0_connection(name: str) -> Connection:
    """The vault's auth0 connection of this name (any case)."""
    found = Connection.objects.filter(name__iexact=name).first()
    if found is None:
        raise CommandError(f"The vault has no connection named {name!r}.", returncode=PROBLEM)
    if found.kind != "auth0":
        raise CommandError(
            f"{found.name} is a {found.get_kind_display()} connection, not an Auth0 one.",
            returncode=PROBLEM,
        )
    return found


def _pull(command: BaseCommand, connection: Connection, options: dict[str, Any]) -> None:
    if options["list"]:
        _print_overview(command, tenant.overview(connection))
        return
    try:
        report = tenant.pull(
            connection, options["flow_ids"], create_placeholders=options["placeholders"]
        )
    except ImportFailed as failed:
        raise CommandError(
            "Nothing was imported:\n  " + "\n  ".join(str(p) for p in failed.problems),
            returncode=PROBLEM,
        ) from None
    audit_trail.imported(COMMAND_LINE, report, "flow.pulled", tenant=connection.name)
    for line in report.lines():
        command.stdout.write(line)


def _print_overview(command: BaseCommand, overview: tenant.Overview) -> None:
    command.stdout.write(f"{len(overview.flows)} flow(s):")
    for flow in overview.flows:
        updated = f"{flow.updated_at:%Y-%m-%d %H:%M}" if flow.updated_at else "-"
        pulled = f"  (in Sluice: {', '.join(str(f.pk) for f in flow.pulled_as)})"
        command.stdout.write(
            f"  {flow.id}  {updated}  {flow.actions:>3} action(s)  {flow.name}"
            + (pulled if flow.pulled_as else "")
        )
    command.stdout.write(f"{len(overview.connections)} vault connection(s):")
    for item in overview.connections:
        where = "in Sluice" if item.in_sluice else "not in Sluice"
        command.stdout.write(f"  {item.id}  {item.app_id:<10} {item.name}  ({where})")


def _push(command: BaseCommand, connection: Connection, flow: Any, dry_run: bool) -> None:
    try:
        plan = tenant.push_plan(flow, connection)
    except tenant.PushRefused as refused:
        if dry_run and refused.diff:
            command.stdout.write(refused.diff, ending="")
        raise CommandError(
            "Nothing was pushed:\n  " + "\n  ".join(refused.problems), returncode=PROBLEM
        ) from None
    if not plan.changed:
        tenant_id = plan.tenant_flow["id"] if plan.tenant_flow else "?"
        command.stdout.write(f"Nothing to change: the tenant's flow {tenant_id} matches.")
        return
    if dry_run:
        command.stdout.write(plan.diff, ending="")
        return
    written = tenant.push(plan)
    changes = {"tenant": connection.name, "auth0_id": flow.auth0_id, "created": plan.creates}
    record(COMMAND_LINE, "flow.pushed", flow, changes)
    verb = "Created" if plan.creates else "Updated"
    command.stdout.write(f"{verb} {written.get('id', '?')} ({flow.name}) in the tenant.")
