"""The messages the outbox kept instead of sending them."""

from django.db import models


class OutboxMessage(models.Model):
    """One email, text or call, as the provider would have sent it.

    ``run_id`` and ``step_id`` name the run and step that sent it, by value: the outbox knows
    nothing of flows, and a message goes when its run is pruned.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"
        CALL = "call", "Call"

    channel = models.CharField(max_length=5, choices=Channel.choices)
    provider = models.CharField(max_length=100, help_text="The outbox connection it went to.")
    run_id = models.PositiveBigIntegerField(null=True, blank=True)
    step_id = models.CharField(max_length=64, blank=True)
    sender = models.CharField(max_length=400)
    recipient = models.CharField(max_length=400)
    subject = models.TextField(blank=True)
    text = models.TextField(help_text="The text part of an email, a text's body, what a call says.")
    html = models.TextField(blank=True)
    headers = models.JSONField(default=list, blank=True, help_text="An email's [name, value]s.")
    details = models.JSONField(
        default=dict, blank=True, help_text="A text's length and segments; a call's TwiML."
    )
    size = models.PositiveIntegerField(help_text="Bytes, as the provider would have been sent.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["run_id", "-created_at"], name="outbox_by_run")]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.recipient}"

    @property
    def summary(self) -> str:
        """What the list shows of it: an email's subject, the start of a text or call."""
        if self.channel == self.Channel.EMAIL:
            return self.subject or "(no subject)"
        first = " ".join(self.text.split())
        return first if len(first) <= 80 else first[:79] + "…"
