"""The audit log: who changed what, when, and from where. Entries are never changed."""

from django.conf import settings
from django.db import models
from django.utils import timezone

# Every action the log records: its key, the kind of object it is about, and how the Audit
# page names it. Kinds and actions are derived from here.
VERBS: dict[str, tuple[str, str]] = {
    "connection.created": ("connection", "Created a vault connection"),
    "connection.edited": ("connection", "Edited a vault connection"),
    "connection.tested": ("connection", "Tested a vault connection"),
    "connection.deleted": ("connection", "Deleted a vault connection"),
    "vault.keys_rotated": ("vault", "Rotated the vault keys"),
    "provider.chosen": ("provider", "Chose a provider"),
    "person.added": ("person", "Added a person"),
    "person.role_changed": ("person", "Changed a role"),
    "person.sign_in_stopped": ("person", "Stopped a person's sign-in"),
    "person.sign_in_allowed": ("person", "Allowed a person to sign in again"),
    "person.password_changed": ("person", "Changed their password"),
    "token.created": ("token", "Created an API token"),
    "token.revoked": ("token", "Revoked an API token"),
    "flow.created": ("flow", "Created a flow"),
    "flow.imported": ("flow", "Imported a flow"),
    "flow.renamed": ("flow", "Renamed a flow"),
    "flow.duplicated": ("flow", "Duplicated a flow"),
    "flow.published": ("flow", "Published a flow"),
    "flow.restored": ("flow", "Restored a version as the draft"),
    "flow.deleted": ("flow", "Deleted a flow"),
    "flow.pulled": ("flow", "Pulled a flow from an Auth0 tenant"),
    "flow.pushed": ("flow", "Pushed a flow to an Auth0 tenant"),
    "sign_in.failed": ("sign-in", "Failed sign-in"),
    "audit.pruned": ("audit", "Pruned the audit log"),
}
KINDS: dict[str, str] = {
    "connection": "Vault connection",
    "vault": "Vault keys",
    "provider": "Provider",
    "person": "Person",
    "token": "API token",
    "flow": "Flow",
    "sign-in": "Sign-in",
    "audit": "Audit log",
}


def verb_choices() -> list[tuple[str, str]]:
    """The registry's actions; a callable, so a new one needs no migration."""
    return [(key, label) for key, (_, label) in VERBS.items()]


def kind_choices() -> list[tuple[str, str]]:
    return list(KINDS.items())


class EntryIsFinal(Exception):
    """An audit entry cannot be changed or deleted; only pruning removes old ones."""


class Entry(models.Model):
    """One action: who did it (as they were named then), what, to which object, from where."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person, while their account exists; the label keeps who it was.",
    )
    actor_label = models.CharField(
        max_length=254, help_text='An email address, "command line" or "anonymous".'
    )
    verb = models.CharField(max_length=40, choices=verb_choices)
    kind = models.CharField(max_length=20, choices=kind_choices)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=254, blank=True, help_text="As it was named then.")
    changes = models.JSONField(
        default=dict, blank=True, help_text="Which settings changed; never a secret's value."
    )
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_by_time"),
            models.Index(fields=["kind", "-at"], name="audit_by_kind"),
            models.Index(fields=["actor_label", "-at"], name="audit_by_actor"),
            models.Index(fields=["kind", "object_id"], name="audit_by_object"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.verb} {self.object_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise EntryIsFinal("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise EntryIsFinal("Audit entries cannot be deleted; pruning removes old ones.")

    @property
    def action(self) -> str:
        return VERBS.get(self.verb, ("", self.verb))[1]

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def change_lines(self) -> list[tuple[str, str]]:
        """The changes as the Audit page shows them: ``{"from", "to"}`` as "a → b", a list
        of names joined with commas."""
        changes = self.changes if isinstance(self.changes, dict) else {}
        return [(str(name).replace("_", " "), _shown(value)) for name, value in changes.items()]


def _shown(value) -> str:
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{_shown(value['from'])} → {_shown(value['to'])}"
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value) or "—"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
