"""The Sandbox page's forms: a tenant, its rate limit, and a sample user."""

import json
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from sandbox_app.models import SandboxTenant

PHONE = RegexValidator(
    r"^\+[1-9][0-9]{6,14}$", "Enter the number in international form, such as +14155550100."
)


class TenantForm(forms.ModelForm):
    class Meta:
        model = SandboxTenant
        fields = ["name", "slug"]
        help_texts = {"slug": "Part of its address, /sandbox/<id>/; a vault connection names it."}


class RateLimitForm(forms.ModelForm):
    class Meta:
        model = SandboxTenant
        fields = ["rate_limit"]


class JsonObjectField(forms.CharField):
    """A JSON object typed as text; kept as typed when it is not one."""

    widget = forms.Textarea(attrs={"rows": 4, "class": "code", "spellcheck": "false"})

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value) or ""
        if not text.strip():
            return {}
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError('Enter a JSON object, such as {"plan": "pro"}.')
        return parsed

    def prepare_value(self, value: Any) -> Any:
        return json.dumps(value, indent=2, ensure_ascii=False) if isinstance(value, dict) else value


class SampleUserForm(forms.Form):
    """A sample user's profile, as the Management API keeps it."""

    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=150, required=False, help_text="The email if left empty.")
    given_name = forms.CharField(label="Given name", max_length=150, required=False)
    family_name = forms.CharField(label="Family name", max_length=150, required=False)
    phone_number = forms.CharField(
        label="Phone number", max_length=16, required=False, validators=[PHONE]
    )
    email_verified = forms.BooleanField(label="Email verified", required=False)
    blocked = forms.BooleanField(required=False)
    app_metadata = JsonObjectField(
        label="App metadata",
        required=False,
        help_text='A JSON object, such as {"plan": "pro"}; flows read it as '
        "{{ actions.get_user.app_metadata.plan }}.",
    )
    user_metadata = JsonObjectField(label="User metadata", required=False)

    @classmethod
    def for_profile(cls, profile: dict[str, Any], data=None) -> "SampleUserForm":
        names = cls.base_fields
        return cls(data, initial={k: v for k, v in profile.items() if k in names})

    def fields_for_api(self) -> dict[str, Any]:
        """The cleaned fields as the Management API takes them; empty ones left out."""
        data = self.cleaned_data
        fields = {key: value for key, value in data.items() if value not in ("", {}, None)}
        fields["name"] = data["name"] or data["email"]
        fields["email_verified"], fields["blocked"] = data["email_verified"], data["blocked"]
        return fields
