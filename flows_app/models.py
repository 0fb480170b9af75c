"""Flows, their published versions, and the record of every run and step."""

from django.conf import settings
from django.db import models


class Flow(models.Model):
    """A flow being built: its draft is Auth0's flow JSON (see flows_app.definition)."""

    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    draft = models.JSONField(default=dict, blank=True)
    undo = models.JSONField(
        default=list, blank=True, help_text="Earlier drafts, newest last, for Undo in the editor."
    )
    redo = models.JSONField(
        default=list, blank=True, help_text="Undone drafts, newest last, for Redo in the editor."
    )
    test_data = models.JSONField(default=dict, blank=True)
    auth0_id = models.CharField(
        max_length=30, blank=True, help_text="The id (af_…) of the Auth0 flow it came from."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="flows"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def latest_version(self) -> "FlowVersion | None":
        return self.versions.order_by("-number").first()


class FlowVersion(models.Model):
    """An immutable, published definition of a flow."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flow_version_number_once"),
        ]

    def __str__(self):
        return f"{self.flow} v{self.number}"


class Run(models.Model):
    """One execution of a flow: the definition it ran, its input, and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Run from the flow page"
        TEST = "test", "Test run of the draft"
        API = "api", "HTTP API"
        CLI = "cli", "Command line"
        STEP = "step", "Test of one step"

    FINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(
        FlowVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    version_number = models.PositiveIntegerField(
        null=True, blank=True, help_text="The published version it ran, kept after its deletion."
    )
    definition = models.JSONField(help_text="The definition this run executes, frozen.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    input = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    resumed_at = models.DateTimeField(
        null=True, blank=True, help_text="When this stretch of work began (after a delay)."
    )
    resume_at = models.DateTimeField(
        null=True, blank=True, help_text="When a waiting run's delay ends."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the worker executing it."
    )
    worker = models.CharField(max_length=200, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    retry_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retries",
        help_text="The failed run this one retries from its failed step.",
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["flow", "-created_at"], name="run_by_flow"),
            models.Index(fields=["status", "-created_at"], name="run_by_status"),
            models.Index(fields=["trigger", "-created_at"], name="run_by_trigger"),
            models.Index(fields=["status", "heartbeat_at"], name="run_by_heartbeat"),
            models.Index(fields=["status", "resume_at"], name="run_by_resume"),
        ]

    def __str__(self):
        return f"Run {self.pk} of {self.flow}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def version_deleted(self) -> bool:
        """Whether it ran a published version that has since been deleted."""
        return self.version_number is not None and self.version_id is None


class StepRun(models.Model):
    """One step of a run, written before its side effect and updated after it."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"
        PINNED = "pinned", "Pinned"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    step_id = models.CharField(max_length=64)
    action_type = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    inputs = models.JSONField(default=dict, help_text="Rendered inputs, secrets redacted.")
    output = models.JSONField(null=True, blank=True)
    sealed_output = models.TextField(
        blank=True, help_text="A masked output, encrypted, so a resumed run can still use it."
    )
    detail = models.JSONField(
        null=True, blank=True, help_text="What the run page shows besides: a condition's checks."
    )
    vars = models.JSONField(
        null=True, blank=True, help_text="The shared variables after this step, when it set any."
    )
    error = models.TextField(blank=True)
    error_body = models.JSONField(null=True, blank=True, help_text="The vendor's error body.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    reused = models.BooleanField(
        default=False, help_text="Copied from the run this one retries; not executed again."
    )

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "step_id"], name="step_run_once_per_run"),
        ]

    def __str__(self):
        return f"{self.step_id} ({self.status})"


class FlowToken(models.Model):
    """A bearer token that lets an HTTP client start runs of one flow; only its hash is kept."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, help_text="Who or what uses it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="To recognise it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["flow", "-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


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


class OneTimeCode(models.Model):
    """The one code a reference (an email, a phone number…) may be verified with.

    Only keyed hashes are stored: of the reference, and of the code. A new code for the same
    reference replaces the row; a right code deletes it (single use), and so do its expiry
    and its last allowed wrong attempt. See flows_app.otp.
    """

    reference_key = models.CharField(max_length=64, unique=True)
    code_hash = models.CharField(max_length=64)
    length = models.PositiveSmallIntegerField()
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Wrong codes tried so far.")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"One-time code until {self.expires_at:%Y-%m-%d %H:%M:%S}"
