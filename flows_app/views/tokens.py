"""Staff-only pages for a flow's API tokens: list, create (shown once), revoke."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from accounts_app.access import staff_required
from audit_app.records import record
from flows_app.api_auth import create_token, revoke_token
from flows_app.models import Flow, FlowToken


class TokenForm(forms.ModelForm):
    class Meta:
        model = FlowToken
        fields = ["name"]
        labels = {"name": "Name"}
        help_texts = {"name": "Who or what uses it, e.g. “Signup service”."}

    def clean_name(self):
        name = self.cleaned_data["name"]
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise forms.ValidationError("The name cannot contain control characters.")
        return name


@sensitive_variables("token")
@staff_required
@require_http_methods(["GET", "POST"])
def token_list(request, flow_id):
    flow = get_object_or_404(Flow, pk=flow_id)
    form = TokenForm(request.POST or None)
    token = None
    if request.method == "POST" and form.is_valid():
        created, token = create_token(flow, name=form.cleaned_data["name"], user=request.user)
        record(request.user, "token.created", created, {"flow": f"{flow.name} (#{flow.pk})"})
        form = TokenForm()
    response = render(
        request,
        "flows/tokens.html",
        {
            "flow": flow,
            "form": form,
            "tokens": flow.tokens.select_related("created_by"),
            "new_token": token,
            "api_url": request.build_absolute_uri(reverse("api_start_run", args=[flow.pk])),
        },
    )
    add_never_cache_headers(response)
    return response


@staff_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, flow_id, token_id):
    token = get_object_or_404(FlowToken.objects.select_related("flow"), pk=token_id, flow=flow_id)
    if request.method == "GET":
        return render(request, "flows/tokens.html", {"flow": token.flow, "revoking": token})
    if revoke_token(token):
        flow = f"{token.flow.name} (#{token.flow_id})"
        record(request.user, "token.revoked", token, {"flow": flow})
        messages.success(request, f"Revoked {token.name}; clients using it now get 401.")
    else:
        messages.info(request, f"{token.name} was already revoked.")
    return redirect("flow_tokens", flow_id=token.flow_id)


urlpatterns = [
    path("flows/<int:flow_id>/tokens/", token_list, name="flow_tokens"),
    path(
        "flows/<int:flow_id>/tokens/<int:token_id>/revoke/",
        token_revoke,
        name="flow_token_revoke",
    ),
]
