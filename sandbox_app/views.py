"""The Sandbox pages: the tenants, a tenant's users, and editing sample users.

Everyone signed in reads them; editors add, edit and delete users; admins add tenants and
set a tenant's rate limit. Users change only through ``sandbox_app.users``, with the rules
the Management API applies.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts_app.access import editor_required, staff_required
from sandbox_app import users
from sandbox_app.errors import ApiError
from sandbox_app.forms import RateLimitForm, SampleUserForm, TenantForm
from sandbox_app.models import SandboxTenant, SandboxUser
from sluice import sandbox

PAGE_SIZE = 50


@require_http_methods(["GET", "POST"])
def tenant_list(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None) if request.user.is_staff else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("Only admins add sandbox tenants.")
        if form.is_valid():
            tenant = form.save()
            messages.success(request, f"Added the sandbox tenant {tenant.name}.")
            return redirect(tenant)
    tenants = SandboxTenant.objects.annotate(user_count=Count("users"))
    status = 400 if form is not None and form.errors else 200
    return render(request, "sandbox/list.html", {"tenants": tenants, "form": form}, status=status)


def tenant_page(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = get_object_or_404(SandboxTenant, slug=slug)
    return _tenant_page(request, tenant, RateLimitForm(instance=tenant))


def _tenant_page(request, tenant: SandboxTenant, limit_form: RateLimitForm, status=200):
    page = Paginator(tenant.users.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tenant": tenant,
        "page": page,
        "limit_form": limit_form,
        "api_origin": sandbox.api_origin(tenant.slug),
        "client_id": sandbox.client_id(tenant.slug),
    }
    return render(request, "sandbox/tenant.html", context, status=status)


@staff_required
@require_POST
def tenant_settings(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = get_object_or_404(SandboxTenant, slug=slug)
    form = RateLimitForm(request.POST, instance=tenant)
    if not form.is_valid():
        return _tenant_page(request, SandboxTenant.objects.get(pk=tenant.pk), form, status=400)
    form.save()
    messages.success(request, f"{tenant.name} now answers {tenant.rate_limit} requests a second.")
    return redirect(tenant)


@editor_required
@require_http_methods(["GET", "POST"])
def user_add(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = get_object_or_404(SandboxTenant, slug=slug)
    form = SampleUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = users.add_sample(tenant, form.fields_for_api())
        except ApiError as refused:
            _refused(form, refused)
        else:
            messages.success(request, f"Added {added['email']} ({added['user_id']}).")
            return redirect(tenant)
    return _user_form(request, tenant, form)


@editor_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    user = get_object_or_404(SandboxUser, tenant__slug=slug, pk=pk)
    form = SampleUserForm.for_profile(user.profile, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            users.replace(user.tenant, user.user_id, form.fields_for_api())
        except ApiError as refused:
            _refused(form, refused)
        else:
            messages.success(request, f"Saved {user.user_id}.")
            return redirect(user.tenant)
    return _user_form(request, user.tenant, form, user)


def _refused(form: SampleUserForm, refused: ApiError) -> None:
    form.add_error("email" if refused.status == 409 else None, str(refused))


def _user_form(request, tenant, form, user=None) -> HttpResponse:
    status = 400 if form.errors else 200
    context = {"tenant": tenant, "form": form, "sample_user": user}
    return render(request, "sandbox/user_form.html", context, status=status)


@editor_required
@require_http_methods(["GET", "POST"])
def user_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    user = get_object_or_404(SandboxUser.objects.select_related("tenant"), tenant__slug=slug, pk=pk)
    if request.method == "POST":
        users.delete(user.tenant, user.user_id)
        messages.success(request, f"Deleted {user.profile.get('email') or user.user_id}.")
        return redirect(user.tenant)
    return render(request, "sandbox/user_delete.html", {"tenant": user.tenant, "sample_user": user})
