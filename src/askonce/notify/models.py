"""Every mail AskOnce sends, kept so replies and bounces can be traced back to their thread."""

from django.db import models
from django.utils import timezone


class OutboundMail(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    message_id = models.CharField(max_length=255, unique=True)  # without angle brackets
    thread = models.CharField(max_length=64, blank=True, default="", db_index=True)
    kind = models.CharField(max_length=32, blank=True, default="")
    recipients = models.TextField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    reply_to = models.CharField(max_length=254, blank=True, default="")
    from_email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["kind", "recipients", "created_at"])]

    def __str__(self) -> str:
        return f"<{self.message_id}> {self.subject}"
