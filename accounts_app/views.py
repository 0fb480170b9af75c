from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts_app.access import staff_required
from accounts_app.forms import PersonForm, RoleForm
from accounts_app.models import User


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


@sensitive_post_parameters("password")
@staff_required
@require_http_methods(["GET", "POST"])
def people(request):
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = form.save()
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
    form = RoleForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        if person == request.user and not _keeps_own_admin(form):
            form.add_error(None, "You cannot remove your own admin role or sign-in.")
        else:
            form.save()
            messages.success(request, f"Saved {person.email}.")
            return redirect("people")
    return render(request, "accounts/person_edit.html", {"form": form, "person": person})


def _keeps_own_admin(form) -> bool:
    return form.cleaned_data["role"] == "admin" and form.cleaned_data["is_active"]
