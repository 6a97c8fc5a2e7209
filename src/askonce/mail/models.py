"""Every message that reached AskOnce by mail, kept raw, with what became of it."""

from django.db import models
from django.utils import timezone


class Outcome(models.TextChoices):
    TICKET_CREATED = "ticket_created", "Opened a ticket"
    MESSAGE_ADDED = "message_added", "Added to a ticket"
    AUTO_REPLY = "auto_reply", "Ignored: automatic reply"
    LOOP = "loop", "Ignored: sent by AskOnce itself"
    BOUNCE = "bounce", "Delivery failure recorded"
    REJECTED = "rejected", "Rejected (kept for review)"


class InboundMail(models.Model):
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    channel = models.CharField(max_length=16)  # smtp, imap
    # The Message-ID, or the SHA-256 of the bytes when there is none: the same mail twice is one.
    dedup_key = models.CharField(max_length=300, unique=True)
    message_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    envelope_sender = models.CharField(max_length=254, blank=True, default="")
    recipients = models.TextField(blank=True, default="")
    sender = models.CharField(max_length=254, blank=True, default="")
    subject = models.CharField(max_length=255, blank=True, default="")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    detail = models.TextField(blank=True, default="")
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_message = models.ForeignKey(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raw = models.BinaryField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject} ({self.outcome})"
