"""On-call schedules: a team's layers of rotating people, and overrides on top of them.

Times are stored in UTC; each schedule and layer names the zone its wall-clock rules live in.
Escalation policies and pages (which notify a schedule) belong beside these models.
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
