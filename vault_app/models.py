"""Connections hold the credentials that flow actions use; secrets only ever encrypted."""

from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from vault_app import crypto
from vault_app.kinds import KINDS, ConnectionKind, TestResult
from vault_app.kinds.base import scrub


def kind_choices() -> list[tuple[str, str]]:
    """The registry's kinds; a callable, so adding a kind needs no migration."""
    return [(key, kind.label) for key, kind in KINDS.items()]


class Connection(models.Model):
    kind = models.CharField(max_length=20, choices=kind_choices)
    name = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    secrets_token = models.TextField(blank=True, editable=False)
    secrets_set = models.JSONField(default=list, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_message = models.CharField(max_length=500, blank=True, editable=False)
    last_tested_at = models.DateTimeField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="vault_connection_name_unique_ci"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("vault:edit", args=[self.pk])

    def save(self, *args, **kwargs):
        """Save; when the settings or secrets changed, drop the token cached for the old ones."""
        changed = self._credentials_changed(kwargs.get("update_fields"))
        super().save(*args, **kwargs)
        if changed:
            ManagementToken.objects.filter(connection=self).delete()

    def _credentials_changed(self, update_fields) -> bool:
        if self.pk is None or (
            update_fields is not None and not {"config", "secrets_token"} & set(update_fields)
        ):
            return False
        before = Connection.objects.filter(pk=self.pk).values("config", "secrets_token").first()
        if before is None:
            return False
        if _filled(before["config"]) != _filled(self.config):
            return True
        if before["secrets_token"] == self.secrets_token:
            return False
        # Forms seal the secrets again on every save: compare what they hold.
        try:
            return crypto.unseal(before["secrets_token"]) != crypto.unseal(self.secrets_token)
        except crypto.VaultKeyError:
            return True

    @property
    def kind_spec(self) -> ConnectionKind:
        return KINDS[self.kind]

    def secrets(self) -> dict[str, str]:
        """Decrypt the secret fields; raises crypto.VaultKeyError when the keys do not fit.

        Decrypted once per instance and sealed value: a run reads its connections once and
        each of its steps asks again."""
        unsealed = self.__dict__.get("_unsealed")
        if unsealed is None or unsealed[0] != self.secrets_token:
            unsealed = (self.secrets_token, crypto.unseal(self.secrets_token))
            self.__dict__["_unsealed"] = unsealed
        return dict(unsealed[1])

    def set_secrets(self, values: dict[str, str]) -> None:
        kept = {name: value for name, value in values.items() if value}
        self.secrets_token = crypto.seal(kept) if kept else ""
        self.secrets_set = sorted(kept)

    def missing_settings(self) -> list[str]:
        """The labels of required settings not filled in: a placeholder made by an import
        has them all missing until an admin completes it."""
        values = {**self.config, **dict.fromkeys(self.secrets_set, "set")}
        return [f.label for f in self.kind_spec.missing(values)]

    def credentials(self) -> dict:
        """Return every setting, secrets decrypted, for building a client."""
        return {**self.config, **self.secrets()}

    def record_test(self, result: TestResult) -> None:
        self.last_test_ok = result.ok
        self.last_test_message = result.message[:500]
        self.last_tested_at = timezone.now()
        self.save(update_fields=["last_test_ok", "last_test_message", "last_tested_at"])


def _filled(config: dict) -> dict:
    return {name: value for name, value in config.items() if value not in (None, "")}


def run_test(kind: ConnectionKind, credentials: dict) -> TestResult:
    """Test credentials, making sure no secret comes back in the message.

    Settings that are missing are named before anything is sent: a login without its
    secret would only be refused, and the refusal would not say why.
    """
    missing = kind.missing(credentials)
    if missing:
        return TestResult(False, kind.missing_message(missing[0]), field=missing[0].name)
    result = kind.test(credentials)
    secrets = {name: credentials.get(name) for name in kind.secret_names}
    return TestResult(result.ok, scrub(result.message, secrets), result.field)


def test_connection(connection: Connection) -> TestResult:
    """Test a saved connection and record the outcome on it."""
    try:
        credentials = connection.credentials()
    except crypto.VaultKeyError as exc:
        result = TestResult(False, f"{exc} Enter the secrets again.")
    else:
        result = run_test(connection.kind_spec, credentials)
    connection.record_test(result)
    return result


class Provider(models.Model):
    """Which connection delivers email, and which delivers texts and calls."""

    class Purpose(models.TextChoices):
        EMAIL = "email", "Email provider"
        PHONE = "phone", "Phone provider"

    purpose = models.CharField(max_length=10, choices=Purpose.choices, primary_key=True)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")

    def __str__(self):
        return f"{self.get_purpose_display()}: {self.connection}"


def provider(purpose: str) -> Connection | None:
    """Return the connection chosen for ``purpose`` (email or phone), if any."""
    chosen = Provider.objects.select_related("connection").filter(purpose=purpose).first()
    return chosen.connection if chosen else None


def set_provider(purpose: str, connection: Connection | None) -> None:
    if connection is None:
        Provider.objects.filter(purpose=purpose).delete()
    else:
        Provider.objects.update_or_create(purpose=purpose, defaults={"connection": connection})


class ManagementToken(models.Model):
    """A client-credentials token (an Auth0 Management API token, or an HTTP connection's OAuth
    token), shared by every run and worker until shortly before expiry.

    One row per connection, written and read only by ``vault_app.clients.token_cache``. The
    token is a secret, so it is sealed like the connection's secrets. ``fingerprint`` names
    the credentials it was issued for (a keyed hash, never the secret itself); saving the
    connection with other settings or secrets deletes the row.
    """

    connection = models.OneToOneField(
        Connection, on_delete=models.CASCADE, primary_key=True, related_name="management_token"
    )
    fingerprint = models.CharField(max_length=64)
    sealed_token = models.TextField(editable=False)
    use_until = models.DateTimeField(help_text="Shortly before the token expires at Auth0.")
    fetched_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Management API token of {self.connection_id} until {self.use_until:%Y-%m-%d %H:%M}"
