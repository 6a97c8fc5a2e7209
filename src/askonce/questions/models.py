"""The question index: every customer question from every channel, with the answer it got and
the earlier question it repeats (DESIGN §3)."""

from django.db import models
from django.utils import timezone


class Question(models.Model):
    # Where the question was asked: a ticket today; chat questions and forum topics later.
    source_type = models.CharField(max_length=20)
    source_id = models.PositiveBigIntegerField()
    channel = models.CharField(max_length=20, blank=True, default="")
    organization_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    text = models.TextField()
    asked_at = models.DateTimeField(default=timezone.now, db_index=True)
    # What support answered (the public replies), once the ticket was solved.
    answer = models.TextField(blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    # The article that answered it, when the agent linked one.
    article_slug = models.CharField(max_length=120, blank=True, default="")
    # The earliest earlier question it repeats, and how alike the two are (cosine, 0..1).
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats"
    )
    similarity = models.FloatField(null=True, blank=True)
    # float32 sentence embedding (see askonce.search.embeddings); empty in full-text-only mode.
    embedding = models.BinaryField(null=True, blank=True)
    embedding_model = models.CharField(max_length=60, blank=True, default="")

    class Meta:
        ordering = ["-asked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id"], name="questions_one_per_source"
            )
        ]

    def __str__(self) -> str:
        return self.text[:80]
