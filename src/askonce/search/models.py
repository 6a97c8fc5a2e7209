"""The documents that full-text search finds: plain text pushed in by the domains above.

The full-text index itself is not a model field, because it differs per database (migration
0001 creates it): on SQLite an FTS5 table `search_searchdocument_fts` over this table, kept in
step by triggers; on PostgreSQL a generated `search_vector tsvector` column with a GIN index.
A later migration that makes SQLite rebuild this table (most AlterField operations do: copy,
drop, rename) drops those triggers with the old table and must create them again.
"""

from django.db import models
from django.utils import timezone


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    STAFF = "staff", "Staff only"
    # Seen by staff and by the contacts of `organization_id`.
    ORGANIZATION = "organization", "One organization"


class SearchDocument(models.Model):
    """One searchable thing (an article, a ticket, a forum topic…) as readers may see it."""

    kind = models.CharField(max_length=20)
    ref_id = models.PositiveBigIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    url = models.CharField(max_length=500)
    category = models.CharField(max_length=200, blank=True, default="")
    visibility = models.CharField(max_length=16, choices=Visibility.choices)
    # A plain id, not a foreign key: search sits below accounts and knows no organizations.
    organization_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Breaks ties between equally relevant documents (views, votes…); 0 when unknown.
    popularity = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "ref_id"], name="search_document_unique_ref")
        ]

    def __str__(self) -> str:
        return f"{self.kind}#{self.ref_id} {self.title}"
