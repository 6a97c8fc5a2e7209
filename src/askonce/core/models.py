"""The append-only event log: the audit trail, and what other domains subscribe to."""

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One change to one thing: who did what, when, from which state to which, and why."""

    occurred_at = models.DateTimeField(db_index=True)
    verb = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()
    organization_id = models.BigIntegerField(null=True, blank=True)
    from_state = models.CharField(max_length=32, blank=True, default="")
    to_state = models.CharField(max_length=32, blank=True, default="")
    note = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id", "id"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.verb} {self.subject_type}#{self.subject_id}"
