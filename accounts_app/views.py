from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts_app.access import staff_required
from accounts_app.forms import PersonForm, RoleForm
from accounts_app.models import User
from audit_app.records import record


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        record(self.request.user, "person.password_changed", self.request.user)
        messages.success(self.request, "Your password was changed.")
        return response


@sensitive_post_parameters("password")
@staff_required
@require_http_methods(["GET", "POST"])
def people(request):
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = form.save()
        record(request.user, "person.added", person, {"role": person.role})
        messages.success(request, f"{person.email} can now sign in as {person.get_role_display()}.")
        return redirect("people")
    return render(
        request,
        "accounts/people.html",
        {
            "form": form,
            "people": User.objects.order_by("email"),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk):
    person = get_object_or_404(User, pk=pk)
    before = (person.role, person.is_active)
    form = RoleForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        if person == request.user and not _keeps_own_admin(form):
            form.add_error(None, "You cannot remove your own admin role or sign-in.")
        else:
            form.save()
            _record_changes(request.user, person, *before)
            messages.success(request, f"Saved {person.email}.")
            return redirect("people")
    return render(request, "accounts/person_edit.html", {"form": form, "person": person})


def _record_changes(actor, person: User, role: str, active: bool) -> None:
    if person.role != role:
        record(actor, "person.role_changed", person, {"role": {"from": role, "to": person.role}})
    if person.is_active != active:
        verb = "person.sign_in_allowed" if person.is_active else "person.sign_in_stopped"
        record(actor, verb, person)


def _keeps_own_admin(form) -> bool:
    return form.cleaned_data["role"] == "admin" and form.cleaned_data["is_active"]
