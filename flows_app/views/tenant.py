"""The pull page: staff read an Auth0 tenant's flows and vault connections and import flows."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts_app.access import staff_required
from flows_app import audit_trail, tenant
from flows_app.interop import ImportFailed
from flows_app.views.runs import HtmxHttpRequest
from vault_app.crypto import VaultKeyError
from vault_app.models import Connection


def _auth0_connections():
    return Connection.objects.filter(kind="auth0").order_by("name")


class ChooseForm(forms.Form):
    connection = forms.ModelChoiceField(
        queryset=Connection.objects.none(),
        label="Auth0 connection",
        empty_label=None,
        help_text="Its application needs read:flows and read:flows_vault_connections.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["connection"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _auth0_connections()


class FlowIdsField(forms.MultipleChoiceField):
    """Auth0 flow ids (af_…); which ones the tenant has is the tenant's to say."""

    def valid_value(self, value: str) -> bool:
        return bool(tenant.FLOW_ID.fullmatch(value))


class PullForm(ChooseForm):
    flows = FlowIdsField(
        label="Flows to import",
        error_messages={"required": "Tick the flows to import."},
        widget=forms.CheckboxSelectMultiple,
    )
    placeholders = forms.BooleanField(
        required=False,
        label="Create placeholder vault connections for the names the vault lacks",
        help_text="Placeholders have no secrets: an admin fills them in before a run.",
    )


@staff_required
@require_http_methods(["GET", "POST"])
def flow_pull(request: HtmxHttpRequest) -> HttpResponse:
    """GET: choose a connection and see its tenant; POST: import the ticked flows."""
    if request.method == "POST":
        return _import(request)
    form = ChooseForm(request.GET or None)
    if not form.is_valid():
        return _page(request, form, None)
    return _page(request, form, form.cleaned_data["connection"])


def _import(request: HtmxHttpRequest) -> HttpResponse:
    form = PullForm(request.POST)
    if not form.is_valid():
        chosen = form.cleaned_data.get("connection")
        return _page(request, ChooseForm(initial={"connection": chosen}), chosen, form, status=422)
    connection = form.cleaned_data["connection"]
    try:
        report = tenant.pull(
            connection,
            form.cleaned_data["flows"],
            owner=request.user,
            create_placeholders=form.cleaned_data["placeholders"],
        )
    except ImportFailed as failed:
        problems = [str(problem) for problem in failed.problems]
        chooser = ChooseForm(initial={"connection": connection})
        return _page(request, chooser, connection, form, problems=problems, status=422)
    except (tenant.TenantError, VaultKeyError, ValueError) as error:
        messages.error(request, _refusal(error))
        return _page(request, ChooseForm(initial={"connection": connection}), None, status=502)
    audit_trail.imported(request.user, report, "flow.pulled", tenant=connection.name)
    for line in report.lines():
        messages.success(request, line)
    return redirect(f"{reverse('flow_pull')}?connection={connection.pk}")


def _page(
    request: HtmxHttpRequest,
    chooser: ChooseForm,
    connection: Connection | None,
    pull_form: PullForm | None = None,
    *,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    overview = None
    if connection is not None:
        try:
            overview = tenant.overview(connection)
        except (tenant.TenantError, VaultKeyError, ValueError) as error:
            messages.error(request, _refusal(error))
            status = 502
    context = {
        "chooser": chooser,
        "has_connections": _auth0_connections().exists(),
        "connection": connection,
        "overview": overview,
        "pull_form": pull_form or PullForm(initial={"connection": connection}),
        "ticked": set(request.POST.getlist("flows")),
        "problems": problems or [],
    }
    return render(request, "flows/pull.html", context, status=status)


def _refusal(error: Exception) -> str:
    if isinstance(error, tenant.TenantError):
        return f"The tenant refused: {error}"
    if isinstance(error, VaultKeyError):
        return f"{error} Enter the connection's secrets again in the vault."
    return str(error)
