"""Sandbox tenants and their users, kept in Sluice's own database."""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from sluice.sandbox import TENANT_ID

DATABASE_CONNECTION = "Username-Password-Authentication"


class SandboxTenant(models.Model):
    """A tenant Sluice serves itself at ``/sandbox/<slug>/``.

    ``window`` and ``used`` count the Management API requests of the current second, for
    the rate limit; only the API writes them.
    """

    slug = models.CharField(
        "Tenant id",
        max_length=40,
        unique=True,
        validators=[
            RegexValidator(
                TENANT_ID, "Lower-case letters, digits and hyphens, such as acme-staging."
            )
        ],
    )
    name = models.CharField(max_length=100)
    rate_limit = models.PositiveIntegerField(
        "Rate limit",
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Management API requests per second; more are answered with Auth0's 429.",
    )
    window = models.BigIntegerField(default=0, editable=False)
    used = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("sandbox:tenant", args=[self.slug])


class SandboxUser(models.Model):
    """A user of a sandbox tenant: ``profile`` is the user as the Management API shows it.

    Passwords are checked as Auth0 checks them and not kept: the sandbox has no sign-in.
    """

    tenant = models.ForeignKey(SandboxTenant, on_delete=models.CASCADE, related_name="users")
    user_id = models.CharField(max_length=300)
    connection = models.CharField(max_length=100, default=DATABASE_CONNECTION)
    email = models.CharField(max_length=320, blank=True, help_text="Lower-case, for lookups.")
    profile = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user_id"], name="sandbox_user_id_once_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "connection", "email"],
                condition=~Q(email=""),
                name="sandbox_user_email_once_per_connection",
            ),
        ]

    def __str__(self):
        return self.user_id
