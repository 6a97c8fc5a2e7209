"""On-call schedules (a team's layers of rotating people, overrides on top of them), and paging:
escalation policies, pages, the timers that escalate them, signed links and routing keys.

Times are stored in UTC; each schedule and layer names the zone its wall-clock rules live in.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from askonce.oncall.rotation import ShiftUnit
from askonce.teams.models import Team


class Schedule(models.Model):
    """Who of a team is on call when. `time_zone` is how the schedule is shown by default."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="schedules")
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    time_zone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Layer(models.Model):
    """A rotation of participants; where layers overlap, the higher `priority` wins."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    priority = models.PositiveIntegerField()
    time_zone = models.CharField(max_length=64)
    # The first participant is on call from here; handoffs fall on `handoff_time` (local wall
    # clock) every `shift_count` `shift_unit`s, counted from this instant's local date.
    rotation_start = models.DateTimeField()
    shift_count = models.PositiveIntegerField(default=1)
    shift_unit = models.CharField(
        max_length=8,
        choices=[(unit.value, unit.value.title()) for unit in ShiftUnit],
        default=ShiftUnit.WEEKS.value,
    )
    handoff_time = models.TimeField()
    # Weekly windows in the layer's zone, [{"days": [0..6], "start": "09:00", "end": "17:00"}];
    # empty means around the clock.
    restrictions = models.JSONField(default=list, blank=True)
    # While this layer covers (the demo's weekend layer), whoever the schedule puts on call also
    # watches the new-ticket queue: the console names them, and new tickets are mailed to them.
    ticket_duty = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["schedule", "-priority"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "priority"], name="one_layer_per_priority"),
            models.UniqueConstraint(fields=["schedule", "name"], name="layer_names_unique"),
            models.CheckConstraint(condition=Q(shift_count__gte=1), name="layer_shift_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"


class LayerParticipant(models.Model):
    """One place in a layer's rotation; a person may hold more than one place."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="participants")
    # A person in a rotation is taken out of it deliberately, not by deleting their account.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["layer", "position"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "position"], name="one_participant_per_place")
        ]

    def __str__(self) -> str:
        return f"{self.user} #{self.position} in {self.layer}"


class Override(models.Model):
    """`user` is on call from `start` to `end`, whatever the layers say."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["schedule", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.schedule} {self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M} UTC"


class EscalationPolicy(models.Model):
    """Whom to notify, in which order, while a page is not acknowledged."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="escalation_policies")
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    # After the last step the steps run again from the first, this many more times.
    repeat_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    SCHEDULE = "schedule", "Whoever is on call in a schedule"
    USER = "user", "A person"
    TEAM = "team", "Whoever is on call in each of a team's schedules"


class EscalationStep(models.Model):
    """Notify one target, then wait `wait_minutes` before the next step (or the next round)."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=StepKind.choices)
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    wait_minutes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="one_step_per_position"),
            models.CheckConstraint(
                condition=(
                    Q(kind="schedule", schedule__isnull=False, user__isnull=True, team__isnull=True)
                    | Q(kind="user", schedule__isnull=True, user__isnull=False, team__isnull=True)
                    | Q(kind="team", schedule__isnull=True, user__isnull=True, team__isnull=False)
                ),
                name="step_has_the_target_of_its_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} step {self.position + 1}"


class PageStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Urgency(models.TextChoices):
    HIGH = "high", "High"  # every contact method at once
    LOW = "low", "Low"  # email only


OPEN_PAGE_STATES = [PageStatus.TRIGGERED, PageStatus.ACKNOWLEDGED]


class Page(models.Model):
    """Someone must look at something now. Escalates along its policy until acknowledged."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="pages")
    status = models.CharField(
        max_length=12, choices=PageStatus.choices, default=PageStatus.TRIGGERED
    )
    urgency = models.CharField(max_length=4, choices=Urgency.choices, default=Urgency.HIGH)
    summary = models.CharField(max_length=1024)
    details = models.TextField(blank=True, default="")
    # What raised it: "emergency mail", "missed response target", "api", "cli", "pagerduty"...
    source = models.CharField(max_length=255, blank=True, default="")
    # Triggers with the same key fold into the open page instead of opening another.
    dedup_key = models.CharField(max_length=255, blank=True, default="")
    trigger_count = models.PositiveIntegerField(default=1)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_triggered_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["policy", "dedup_key"]),
        ]
        constraints = [
            # Two triggers racing with one key: the database lets exactly one open a page.
            models.UniqueConstraint(
                fields=["policy", "dedup_key"],
                condition=Q(status__in=OPEN_PAGE_STATES) & ~Q(dedup_key=""),
                name="one_open_page_per_dedup_key",
            )
        ]

    def __str__(self) -> str:
        return f"Page #{self.pk}: {self.summary[:60]}"


class EscalationTimer(models.Model):
    """One step of one page's escalation, due at `due_at`.

    The worker takes due rows under a lock, notifies, marks the row done and creates the next
    step's row in one transaction; the unique key means no step runs twice, and a step whose
    worker died before committing is still pending for the next one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="timers")
    round = models.PositiveIntegerField()  # 0: the first pass through the steps; 1..: repeats
    step_index = models.PositiveIntegerField()  # 0-based, in the policy's step order
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    ran_at = models.DateTimeField(null=True, blank=True)
    # Addresses of the people this step reached; empty when nobody was on call.
    notified = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["page", "round", "step_index"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["page", "round", "step_index"], name="one_timer_per_step_and_round"
            )
        ]

    def __str__(self) -> str:
        return f"page #{self.page_id} round {self.round} step {self.step_index + 1}"


class PageLinkAction(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    RESOLVE = "resolve", "Resolve"


class PageLink(models.Model):
    """An acknowledge or resolve link mailed to one person; it works once."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="links")
    action = models.CharField(max_length=12, choices=PageLinkAction.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Random; the mailed link is this, signed with the secret key and a time stamp.
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.action} link for page #{self.page_id} to {self.user}"


class RoutingKey(models.Model):
    """A monitoring tool's key for the PagerDuty and Alertmanager receivers. Only its hash is kept."""

    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="routing_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8)  # the key's first characters, to tell keys apart
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) for {self.policy}"


class CalendarFeed(models.Model):
    """A person's secret address for their shifts as iCalendar, for calendar apps (no session).

    The address carries `pk` and an HMAC of (`pk`, user, `salt`) with the secret key, so the
    database alone cannot rebuild it; a new salt (rotate) or deleting the row (revoke) ends it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    salt = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.user}"


class ShiftNotice(models.Model):
    """`user` was told their shift on `schedule` starting at `shift_start` is coming: once."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shift_start = models.DateTimeField()
    shift_end = models.DateTimeField()
    notified_at = models.DateTimeField(default=timezone.now)
    # Addresses and methods used, for the audit trail ("email", "webhook").
    methods = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-shift_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "user", "shift_start"], name="one_notice_per_shift"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.schedule} from {self.shift_start:%Y-%m-%d %H:%M} UTC"


class TicketDutyNotice(models.Model):
    """A person on ticket duty was told about a new ticket: once per ticket and person."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="one_duty_notice_per_ticket")
        ]

    def __str__(self) -> str:
        return f"ticket #{self.ticket_id} to {self.user}"
