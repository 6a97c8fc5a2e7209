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


class GapStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Gap(models.Model):
    """A question asked at least twice that no article answers: documentation to write.

    Its occurrences are the questions of its group (the first asking and its repeats)."""

    root = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="gap")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=GapStatus.choices, default=GapStatus.OPEN)
    # Who writes the article: the owner of the best-matching category (or the support team).
    category_slug = models.CharField(max_length=80, blank=True, default="")
    owner_user_id = models.PositiveBigIntegerField(null=True, blank=True)
    owner_team_id = models.PositiveBigIntegerField(null=True, blank=True)
    article_slug = models.CharField(max_length=120, blank=True, default="")
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return self.title


class ArticleVector(models.Model):
    """A published article's embedding (title and the start of its text), for finding articles
    that answer the same thing."""

    article = models.OneToOneField(
        "kb.Article", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    revision_number = models.PositiveIntegerField(default=0)
    embedding = models.BinaryField()
    embedding_model = models.CharField(max_length=60)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"vector of article {self.article_id}"


class OverlapStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    KEPT = "kept", "Kept both"


class OverlapReason(models.TextChoices):
    NEAR_DUPLICATE = "near_duplicate", "Near duplicates"
    SAME_QUESTIONS = "same_questions", "Answer the same questions"
    BOTH = "both", "Near duplicates answering the same questions"


class Overlap(models.Model):
    """Two published articles that answer the same questions or say the same thing: flagged to
    both owners, who decide to merge them (one is archived and leads to the other) or keep
    both. A pair is flagged once; a decided pair is not flagged again."""

    article = models.ForeignKey("kb.Article", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("kb.Article", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=OverlapReason.choices)
    # Cosine of the two articles' embeddings, when measured.
    similarity = models.FloatField(null=True, blank=True)
    # Questions (repeat groups) linked to both articles.
    shared_questions = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=OverlapStatus.choices, default=OverlapStatus.OPEN
    )
    flagged_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kept = models.ForeignKey(
        "kb.Article", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-flagged_at"]
        constraints = [
            models.UniqueConstraint(fields=["article", "other"], name="questions_overlap_pair"),
            models.CheckConstraint(
                condition=models.Q(article__lt=models.F("other")),
                name="questions_overlap_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"overlap #{self.pk}"
