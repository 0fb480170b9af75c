"""Staff-only pages for the vault: list, create, edit, test, delete, providers."""

from typing import NamedTuple

from django.contrib import messages
from django.db import transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts_app.access import staff_required
from audit_app.records import Target, record
from vault_app.forms import ConnectionForm, ProvidersForm
from vault_app.kinds import KINDS
from vault_app.models import (
    Connection,
    Provider,
    provider,
    run_test,
    set_provider,
    test_connection,
)

# The session key under which Save and test tells the connection's page what failed.
_FAILED_TEST = "vault_failed_test"


def _connections():
    return Connection.objects.prefetch_related("uses__flow").order_by("kind", "name")


@staff_required
def connection_list(request):
    providers = dict(Provider.objects.values_list("purpose", "connection__name"))
    return render(
        request,
        "vault/list.html",
        {
            "connections": _connections(),
            "kinds": KINDS,
            "providers_form": ProvidersForm(),
            "providers": providers,
        },
    )


@sensitive_post_parameters()
@staff_required
@require_http_methods(["GET", "POST"])
def connection_create(request):
    kind = KINDS.get(request.GET.get("kind", ""))
    if kind is None:
        return render(request, "vault/choose_kind.html", {"kinds": KINDS})
    form = ConnectionForm(kind, request.POST or None, person=request.user.pk)
    if request.method == "POST" and form.is_valid():
        connection = form.save()
        record(request.user, "connection.created", connection, {"kind": kind.key})
        return _after_save(request, form, connection)
    return _edit_page(request, form, kind)


@sensitive_post_parameters()
@staff_required
@require_http_methods(["GET", "POST"])
def connection_edit(request, pk):
    connection = get_object_or_404(Connection, pk=pk)
    form = ConnectionForm(
        connection.kind_spec, request.POST or None, instance=connection, person=request.user.pk
    )
    if request.method == "POST" and form.is_valid():
        connection = form.save()
        if form.changed:
            record(request.user, "connection.edited", connection, {"changed": form.changed})
        return _after_save(request, form, connection)
    failed_test = request.method == "GET" and _failed_test_of(request, connection)
    if failed_test:
        form.show_test_failure(failed_test.field, connection.last_test_message)
    return _edit_page(
        request, form, connection.kind_spec, connection, test_failed=bool(failed_test)
    )


def _edit_page(request, form, kind, connection=None, **extra):
    context = {"form": form, "kind": kind, "connection": connection, **extra}
    return render(request, "vault/edit.html", context)


def _after_save(request, form, connection):
    """Go back to the list, or test the saved connection first. After a failed test the
    browser goes to the connection's own page, which shows the failure on its field."""
    if request.POST.get("then") != "test":
        messages.success(request, f"Saved {connection.name}.")
        return redirect("vault:list")
    result = run_test(connection.kind_spec, form.credentials())
    connection.record_test(result)
    _tested(request, connection, result.ok)
    if result.ok:
        messages.success(request, f"Saved {connection.name}. Test passed: {result.message}")
        return redirect("vault:list")
    request.session[_FAILED_TEST] = {"pk": connection.pk, "field": result.field or ""}
    return redirect(connection)


def _tested(request, connection: Connection, ok: bool) -> None:
    record(request.user, "connection.tested", connection, {"result": "passed" if ok else "failed"})


class _FailedTest(NamedTuple):
    field: str


def _failed_test_of(request, connection) -> _FailedTest | None:
    """The failed test that just sent the browser to this connection's page, once."""
    failed = request.session.pop(_FAILED_TEST, None)
    if not isinstance(failed, dict) or failed.get("pk") != connection.pk:
        return None
    if connection.last_test_ok is not False:
        return None
    return _FailedTest(str(failed.get("field") or ""))


@staff_required
@require_POST
def connection_test(request, pk):
    connection = get_object_or_404(Connection, pk=pk)
    result = test_connection(connection)
    _tested(request, connection, result.ok)
    if request.htmx:
        return render(request, "vault/list.html#test-status", {"connection": connection})
    level = messages.SUCCESS if connection.last_test_ok else messages.ERROR
    messages.add_message(request, level, f"{connection.name}: {connection.last_test_message}")
    return redirect(connection if request.POST.get("next") == "edit" else "vault:list")


@staff_required
@require_http_methods(["GET", "POST"])
def connection_delete(request, pk):
    connection = get_object_or_404(Connection, pk=pk)
    flows = [use.flow.name for use in connection.uses.select_related("flow")]
    if request.method == "POST" and not flows:
        target = Target(str(connection.pk), connection.name)
        try:
            with transaction.atomic():
                connection.delete()
        except ProtectedError as exc:
            flows = sorted({str(getattr(obj, "flow", obj)) for obj in exc.protected_objects})
        else:
            record(request.user, "connection.deleted", target, {"kind": connection.kind})
            messages.success(request, f"Deleted {connection.name}.")
            return redirect("vault:list")
    roles = Provider.objects.filter(connection=connection)
    status = 409 if request.method == "POST" else 200
    return render(
        request,
        "vault/delete.html",
        {
            "connection": connection,
            "flows": flows,
            "roles": roles,
        },
        status=status,
    )


@staff_required
@require_POST
def providers(request):
    form = ProvidersForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "Choose an SMTP connection or the outbox for email, and a Twilio account or the "
            "outbox for phone.",
        )
        return redirect("vault:list")
    for purpose in (Provider.Purpose.EMAIL, Provider.Purpose.PHONE):
        chosen = form.cleaned_data[purpose]
        before = provider(purpose)
        set_provider(purpose, chosen)
        if before != chosen:
            _provider_chosen(request, purpose, before, chosen)
    messages.success(request, "Saved the providers.")
    return redirect("vault:list")


def _provider_chosen(request, purpose: str, before, chosen) -> None:
    label = Provider.Purpose(purpose).label
    change = {"from": before.name if before else None, "to": chosen.name if chosen else None}
    record(request.user, "provider.chosen", Target(purpose, label), {"connection": change})
