"""What flows write to the audit log when an import or a pull brings flows in."""

from typing import Any

from audit_app.records import Target, record
from flows_app.interop import ImportReport
from vault_app.models import Connection


def imported(actor: Any, report: ImportReport, verb: str = "flow.imported", **about: Any) -> None:
    """One entry per flow brought in, and one per placeholder connection made for them."""
    for flow in report.flows:
        changes = {**about, "steps": report.steps.get(flow.pk, 0)}
        if flow.auth0_id:
            changes["auth0_id"] = flow.auth0_id
        record(actor, verb, flow, changes)
    for name, kind in report.placeholders:
        made = Connection.objects.filter(name__iexact=name, kind=kind).first()
        target = made or Target(label=name)
        record(actor, "connection.created", target, {"kind": kind, "placeholder": True})
