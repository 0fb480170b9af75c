"""The connection form, generated from a kind's fields; secret fields are write-only."""

from typing import Any

from django import forms

from vault_app import crypto, kept
from vault_app.kinds import ConnectionKind, kinds_providing
from vault_app.kinds.base import CHOICE, EMAIL, INTEGER, MULTILINE, SECRET_MULTILINE, Field
from vault_app.models import Connection, Provider

KEEP_HELP = "A value is set and stays hidden. Leave blank to keep it; type a new one to replace it."
KEPT_HELP = "Leave blank to keep it; type a new one to replace it."
EXPIRED = "The {label} you typed before was kept for {minutes} minutes only; type it again."
TEXT_LIMIT, SECRET_LIMIT, MULTILINE_LIMIT = 255, 4096, 16384
AREA_ATTRS = {"rows": "6", "spellcheck": "false", "class": "code"}


class SecretTextarea(forms.Textarea):
    """A text area that never sends its value back to the browser (a private key)."""

    def format_value(self, value):
        return None


def refuse_control_characters(value: str) -> None:
    """Refuse line breaks and other control characters, which no setting needs."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise forms.ValidationError("Remove the line breaks or other control characters.")


def _form_field(spec: Field) -> forms.Field:
    common: dict[str, Any] = {
        "label": spec.label,
        "help_text": spec.help,
        "required": spec.required and spec.shown_for is None,  # else checked in clean()
    }
    if spec.secret:
        if spec.kind == SECRET_MULTILINE:
            secret_area = SecretTextarea(attrs=AREA_ATTRS)
            return forms.CharField(widget=secret_area, max_length=MULTILINE_LIMIT, **common)
        widget = forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
        )
        return forms.CharField(widget=widget, strip=False, max_length=SECRET_LIMIT, **common)
    if spec.kind == INTEGER:
        return forms.IntegerField(
            min_value=spec.min_value, max_value=spec.max_value, initial=spec.default, **common
        )
    if spec.kind == CHOICE:
        return forms.ChoiceField(choices=spec.choices, initial=spec.default, **common)
    if spec.kind == EMAIL:
        return forms.EmailField(**common)
    if spec.kind == MULTILINE:
        area = forms.Textarea(attrs=AREA_ATTRS)
        return forms.CharField(widget=area, max_length=MULTILINE_LIMIT, **common)
    attrs = {"placeholder": spec.placeholder, "spellcheck": "false"} if spec.placeholder else {}
    return forms.CharField(
        widget=forms.TextInput(attrs=attrs),
        max_length=spec.max_length or TEXT_LIMIT,
        validators=[refuse_control_characters],
        **common,
    )


class ConnectionForm(forms.Form):
    """A connection's settings. Secrets are write-only: a stored one is kept when its field
    is left blank, and one typed into a form that comes back for correction is kept too,
    sealed (``vault_app.kept``), so nothing typed is lost and nothing is shown."""

    name = forms.CharField(
        max_length=100,
        validators=[refuse_control_characters],
        help_text="How flows refer to this connection; exports carry the name, never secrets.",
    )

    def __init__(
        self,
        kind: ConnectionKind,
        *args,
        instance: Connection | None = None,
        person: int | None = None,
        **kwargs,
    ):
        self.kind = kind
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, **instance.config}
        super().__init__(*args, **kwargs)
        self.kept_scope = f"{person}:{kind.key}:{instance.pk if instance else 'new'}"
        token = self.data.get(kept.FIELD_NAME, "") if self.is_bound else ""
        self.kept = kept.open_kept(token if isinstance(token, str) else "", self.kept_scope)
        self.kept_token = ""
        stored = set(instance.secrets_set) if instance else set()
        for spec in kind.fields:
            self.fields[spec.name] = _form_field(spec)
            self.fields[spec.name].shown_for = spec.shown_for  # type: ignore[attr-defined]
            self.fields[spec.name].required_when_shown = spec.required  # type: ignore[attr-defined]
            if spec.secret and spec.name in stored and not spec.required:
                self.fields[f"clear_{spec.name}"] = forms.BooleanField(
                    required=False, label=f"Remove the stored {spec.label.lower()}"
                )
                self.fields[f"clear_{spec.name}"].shown_for = spec.shown_for  # type: ignore[attr-defined]
        self._mark_secret_fields(set(self.kept.values))

    def _mark_secret_fields(self, kept_names: set[str]) -> None:
        """Say on each secret field whether a value is stored or kept, which a blank keeps."""
        for spec in self.kind.fields:
            if not spec.secret:
                continue
            field = self.fields[spec.name]
            is_kept, is_set = spec.name in kept_names, self.secret_is_set(spec.name)
            held = is_kept or is_set
            field.required = spec.required and spec.shown_for is None and not held
            field.required_when_shown = spec.required and not held  # type: ignore[attr-defined]
            held_help = KEPT_HELP if is_kept else KEEP_HELP if is_set else ""
            field.help_text = f"{held_help} {spec.help}".strip()
            field.secret_set = is_set and not is_kept  # type: ignore[attr-defined]
            field.secret_kept = is_kept  # type: ignore[attr-defined]
            # A bound field copies its help text when it is made, maybe before this.
            self[spec.name].help_text = field.help_text

    def show_test_failure(self, name: str, message: str) -> None:
        """Show a failed connection test on the field it is about, on a page just loaded."""
        if name in self.fields:
            self.errors[name] = self.error_class([f"Test failed: {message}"])

    def secret_is_set(self, name: str) -> bool:
        return bool(self.instance and name in self.instance.secrets_set)

    def _held(self, name: str) -> bool:
        """Whether a blank secret field keeps a value: a stored one, or one kept from a try."""
        return self.secret_is_set(name) or name in self.kept.values

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self.errors:
            self._keep_typed_secrets()

    def _keep_typed_secrets(self) -> None:
        """Seal the secrets typed so far into ``kept_token`` for the next try."""
        values = dict(self.kept.values)
        for name in self.kind.secret_names:
            typed = self.data.get(name)
            if isinstance(typed, str):
                typed = typed.replace("\r\n", "\n")  # as clean() stores a multi-line secret
            if typed and name not in self.errors and self.cleaned_data.get(name) == typed:
                values[name] = typed
        self.kept_token = kept.seal_kept(values, self.kept_scope) if values else ""
        self._mark_secret_fields(set(values))

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        others = Connection.objects.filter(name__iexact=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError("Another connection already has this name.")
        return name

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        for spec in self.kind.fields:
            value = cleaned.get(spec.name)
            if not spec.applies(cleaned):
                cleaned[spec.name] = None  # another setup's field: neither checked nor kept
                self.errors.pop(spec.name, None)
                continue
            if spec.shown_for and spec.required and value in (None, ""):
                if not (spec.secret and self._held(spec.name)):
                    self.add_error(spec.name, "This field is required.")
                continue
            if spec.kind in (MULTILINE, SECRET_MULTILINE) and isinstance(value, str):
                value = cleaned[spec.name] = value.replace("\r\n", "\n")  # browsers send CRLF
            if spec.validate and value not in (None, ""):
                try:
                    cleaned[spec.name] = spec.validate(value)
                except forms.ValidationError as exc:
                    self.add_error(spec.name, exc)
        self._merge_kept_secrets(cleaned)
        self._merge_stored_secrets(cleaned)
        self._refuse_missing_secrets(cleaned)
        self._check_together(cleaned)
        return cleaned

    def _check_together(self, cleaned):
        """Run the kind's own check of settings that only work together (a key and its
        algorithm), once each setting is valid on its own."""
        check = self.kind.extra.get("check")
        if check is None or self.errors:
            return
        for name, message in check(self.credentials()).items():
            self.add_error(name if name in self.fields else None, message)

    def _merge_kept_secrets(self, cleaned):
        """Fill blank secret fields with what was typed in an earlier try; ask again for
        what was kept too long."""
        for name, value in self.kept.values.items():
            blank = name in self.fields and not cleaned.get(name) and name not in self.errors
            if blank and not cleaned.get(f"clear_{name}"):
                cleaned[name] = value
        for name in self.kept.expired:
            spec = self.kind.field(name)
            if spec and not cleaned.get(name) and name not in self.errors:
                minutes = kept.KEEP_FOR // 60
                self.add_error(name, EXPIRED.format(label=spec.label.lower(), minutes=minutes))

    def _refuse_missing_secrets(self, cleaned):
        """Refuse a connection whose login lacks its secret, such as an SMTP username
        without a password: it could only fail, and say less about why."""
        for spec in self.kind.missing(cleaned):
            if spec.secret and spec.name not in self.errors and spec.required_with:
                other = self.kind.field(spec.required_with)
                other_label = other.label.lower() if other else spec.required_with
                self.add_error(
                    spec.name,
                    f"Enter the {spec.label.lower()} that goes with the {other_label}, "
                    f"or clear the {other_label}.",
                )
            elif spec.secret and spec.name not in self.errors:
                self.add_error(spec.name, "This field is required.")

    def _merge_stored_secrets(self, cleaned):
        """Fill blank secret fields with the stored values the user chose to keep."""
        keep = [
            spec.name
            for spec in self.kind.fields
            if spec.secret
            and spec.applies(cleaned)
            and not cleaned.get(spec.name)
            and self.secret_is_set(spec.name)
            and not cleaned.get(f"clear_{spec.name}")
        ]
        if not keep or self.instance is None:
            return
        try:
            stored = self.instance.secrets()
        except crypto.VaultKeyError:
            for name in keep:
                self.add_error(
                    name,
                    "The stored value cannot be decrypted with the current "
                    "vault keys; enter it again.",
                )
            return
        for name in keep:
            cleaned[name] = stored.get(name, "")

    def credentials(self) -> dict:
        return {spec.name: self.cleaned_data.get(spec.name) for spec in self.kind.fields}

    def save(self) -> Connection:
        """Save the connection; ``changed`` names the settings this changed (never values)."""
        connection = self.instance or Connection(kind=self.kind.key)
        before = _settings_of(connection) if connection.pk else {}
        connection.name = self.cleaned_data["name"]
        connection.config = {
            spec.name: self.cleaned_data.get(spec.name)
            for spec in self.kind.plain_fields
            if self.cleaned_data.get(spec.name) not in (None, "")
        }
        connection.set_secrets(
            {name: self.cleaned_data.get(name) or "" for name in self.kind.secret_names}
        )
        connection.save()
        after = _settings_of(connection)
        names = {*before, *after}
        self.changed = sorted(n for n in names if before.get(n) != after.get(n))
        return connection


def _settings_of(connection: Connection) -> dict[str, Any]:
    """Every setting of a connection, secrets decrypted, to compare before and after a save.
    Secrets that no key opens compare as unknown, so replacing them counts as a change."""
    try:
        secrets: dict[str, Any] = connection.secrets()
    except crypto.VaultKeyError:
        secrets = dict.fromkeys(connection.secrets_set, object())
    return {"name": connection.name, **connection.config, **secrets}


class ProvidersForm(forms.Form):
    """Choose the email provider and the phone provider."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for purpose in Provider.Purpose:
            current = Provider.objects.filter(purpose=purpose).values_list("connection", flat=True)
            self.fields[purpose] = forms.ModelChoiceField(
                queryset=Connection.objects.filter(kind__in=kinds_providing(purpose)),
                required=False,
                label=Provider.Purpose(purpose).label,
                empty_label="None",
                initial=current.first(),
            )
