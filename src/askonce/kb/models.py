"""The knowledge base: categories and articles with one owner each, their revisions, votes,
documentation tasks opened from solved tickets, and self-service attempts (deflections)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from askonce.teams.models import Team


class Category(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    # The owner gets documentation tasks for the category and sees its stale articles.
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_categories",
    )
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_categories"
    )
    review_interval_days = models.PositiveIntegerField(default=180)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Article(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="articles")
    # Exactly one owner: a staff user or a team. A draft may have none yet; publishing needs one.
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_articles",
    )
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_articles"
    )
    status = models.CharField(
        max_length=16, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    # Internal articles are for staff alone: never in the help center or customer search.
    internal = models.BooleanField(default=False)
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    # Set when the article was merged into another (an overlap decided "merge"): it is
    # archived, and its help-center address leads readers to the article that answers now.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    revision_number = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    view_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    not_helpful_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["status", "-view_count"], name="kb_article_popular")]
        constraints = [
            models.CheckConstraint(
                condition=~(
                    models.Q(owner_user__isnull=False) & models.Q(owner_team__isnull=False)
                ),
                name="kb_article_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_label(self) -> str:
        """'alice@example.com' or 'team:ops' (the form owner fields take), '' when unowned."""
        if self.owner_user_id:
            assert self.owner_user is not None
            return self.owner_user.email
        return f"team:{self.owner_team.slug}" if self.owner_team is not None else ""

    @property
    def is_stale(self) -> bool:
        return bool(
            self.status == ArticleStatus.PUBLISHED
            and self.review_due_at
            and self.review_due_at <= timezone.now()
        )


class Revision(models.Model):
    """One saved version of an article; the article's fields are always the newest revision."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # The sanitized HTML of this revision, rendered once (see kb/markdown.py).
    body_html = models.TextField(blank=True, default="")
    renderer_version = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} r{self.number}"


class Vote(models.Model):
    """Was this helpful? One vote per reader (user, or browser session for anonymous readers)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    voter_key = models.CharField(max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    helpful = models.BooleanField()
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["article", "voter_key"], name="kb_one_vote_per_reader")
        ]

    def __str__(self) -> str:
        return f"{'helpful' if self.helpful else 'not helpful'} on {self.article_id}"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class DocumentationTask(models.Model):
    """'Documentation needed' on a solved ticket: an article to write, owned by the category owner."""

    ticket_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    summary = models.CharField(max_length=300)
    details = models.TextField(blank=True, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    assignee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documentation_tasks",
    )
    assignee_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="documentation_tasks"
    )
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The worker may deliver the same event twice; one ticket opens one task.
            models.UniqueConstraint(
                fields=["ticket_id"],
                condition=models.Q(ticket_id__isnull=False),
                name="kb_one_task_per_ticket",
            )
        ]

    def __str__(self) -> str:
        return self.summary


class AttemptOutcome(models.TextChoices):
    OPEN = "open", "Reading"
    DEFLECTED = "deflected", "Deflected"
    FILED = "filed", "Filed a ticket"
    ABANDONED = "abandoned", "Left without reading"


class SelfServiceAttempt(models.Model):
    """A customer typing a question in the ask box. Reading a suggested article and leaving
    without filing is a deflection; filing anyway is not."""

    token = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    organization_id = models.PositiveBigIntegerField(null=True, blank=True)
    query = models.CharField(max_length=500, blank=True, default="")
    articles_read = models.ManyToManyField(Article, blank=True, related_name="attempts")
    ticket_id = models.PositiveBigIntegerField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, choices=AttemptOutcome.choices, default=AttemptOutcome.OPEN
    )
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"ask-box visit {self.pk} ({self.outcome})"
