from django import forms
from django.contrib.auth import password_validation

from accounts_app.models import ROLE_HELP, Role, User


class PersonForm(forms.ModelForm):
    """Add a person with a role and a first password they can change later."""

    password = forms.CharField(
        label="First password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Give it to them privately; they can change it after signing in.",
    )

    class Meta:
        model = User
        fields = ["email", "name", "role"]
        help_texts = {"role": " ".join(f"{Role(r).label}: {h}" for r, h in ROLE_HELP.items())}

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("Someone with this email address already has an account.")
        return email

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        password = cleaned.get("password")
        if password:
            user = User(email=cleaned.get("email", ""), name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password"])
        if commit:
            user.save()
        return user


class RoleForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["role", "is_active"]
        labels = {"is_active": "Can sign in"}
