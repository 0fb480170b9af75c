"""Flows and the vault connections they use."""

from django.conf import settings
from django.db import models


class Flow(models.Model):
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    draft = models.JSONField(default=dict, blank=True)
    test_data = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="flows"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ConnectionUse(models.Model):
    """One flow's use of one vault connection, refreshed whenever the flow is saved.

    The vault reads it through ``Connection.uses``; ``PROTECT`` makes the database itself
    refuse to delete a connection that a flow still uses.
    """

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="connection_uses")
    connection = models.ForeignKey(
        "vault_app.Connection", on_delete=models.PROTECT, related_name="uses"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "connection"], name="flow_connection_use_once"),
        ]

    def __str__(self):
        return f"{self.flow} uses {self.connection}"
