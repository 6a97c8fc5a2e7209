"""Every mail AskOnce sends, kept so replies and bounces can be traced back to their thread;
the webhook endpoints events are POSTed to, and each delivery's log."""

from django.conf import settings
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


class WebhookEndpoint(models.Model):
    """Where AskOnce POSTs events as JSON, signed with `secret` (HMAC-SHA256 of the body).

    Without a `user` the endpoint is a shared one (a team's chat channel, an incident tool) and
    receives every event its `events` filter lets through. With a `user` it is one of that
    person's contact methods and receives only what is addressed to them.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    # Kept as given: signing needs it. Shown once when created, like an API token.
    secret = models.CharField(max_length=128)
    # Event names to send (["page.triggered", "page.resolved"]); empty sends every event.
    events = models.JSONField(default=list, blank=True)
    # A body Slack (and Mattermost, Rocket.Chat...) incoming webhooks accept: {"text": ...}.
    slack_format = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body sent, and how each attempt went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its first attempt or a retry
        SENDING = "sending", "Sending"  # an attempt is under way (or its worker died)
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # every retry used up

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=64)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint} ({self.status})"
