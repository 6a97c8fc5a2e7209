"""Tickets, their messages, and the misses of team response targets."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WITH_TEAM = "with_team", "With team"
    RETURNED = "returned", "Returned"
    PENDING_CUSTOMER = "pending_customer", "Pending customer"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class DocumentationDecision(models.TextChoices):
    LINKED = "linked", "Linked to an article"
    NEEDED = "needed", "Article needed"
    NOT_NEEDED = "not_needed", "No article needed"


class Ticket(models.Model):
    subject = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_tickets",
    )
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="followed_tickets"
    )
    channel = models.CharField(max_length=16, default="web")
    # Opened through the emergency address by a premium customer: support's on-call is paged.
    emergency = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The hand-off: set when assigned to a team, cleared when the team answers or support takes
    # the ticket back. `handoff_count` counts assignments over the ticket's life.
    assigned_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    handoff_count = models.PositiveIntegerField(default=0)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True, default="")
    documentation_decision = models.CharField(
        max_length=16, choices=DocumentationDecision.choices, blank=True, default=""
    )
    documentation_article = models.CharField(max_length=200, blank=True, default="")
    documentation_reason = models.TextField(blank=True, default="")

    # Not a column: the first message, on a ticket object that do_create_ticket just opened (so
    # callers such as mail intake need not read it back).
    opening_message: "Message | None" = None

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "id"]),
            models.Index(fields=["owner", "status", "id"]),
            models.Index(fields=["owner", "-updated_at"], name="ticket_owner_recent"),
            models.Index(fields=["team", "status", "id"]),
            models.Index(fields=["organization", "id"]),
            models.Index(fields=["status", "response_due_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public reply"
    INTERNAL = "internal", "Internal note"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    channel = models.CharField(max_length=16, default="web")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ticket", "id"])]

    def __str__(self) -> str:
        return f"{self.visibility} on #{self.ticket_id} by {self.author_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # The stored name is ours; the sender's file name is only shown, never used as a path.
    return f"tickets/{instance.message.ticket_id}/{timezone.now():%Y%m%d%H%M%S%f}"


class Attachment(models.Model):
    """A file that came with a message; served only to people who may read that message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    file = models.FileField(upload_to=attachment_path, max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.filename


class ResponseMiss(models.Model):
    """A team that let `response_due_at` pass without posting; one row per hand-off."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="response_misses")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="response_misses")
    handoff_number = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "handoff_number"], name="one_miss_per_handoff"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} missed #{self.ticket_id}"
