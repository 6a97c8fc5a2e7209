"""Writes to the search index: put documents in (one or in bulk), take them out, tidy the index.

The index follows the documents table by itself (SQLite triggers, a PostgreSQL generated
column), so every write here is an ordinary row write: it commits or rolls back with the
caller's transaction. No event is recorded: the index is a copy of what the domains above
already logged, and a rebuild would flood the audit trail with 100,000 lines.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.db import connection, transaction
from django.utils import timezone

from askonce.core.errors import InvalidInput
from askonce.search.engines import postgresql as postgresql_engine
from askonce.search.engines import sqlite as sqlite_engine
from askonce.search.models import SearchDocument, Visibility

# Rows per INSERT … ON CONFLICT and per transaction in bulk indexing: big enough to amortise
# the statement, small enough that SQLite's one write lock is never held for long.
BATCH_SIZE = 500
# Control characters carry no meaning in plain text, and \x02/\x03 mark matches in snippets
# (queries.py): a document must not be able to forge them. Lone surrogates cannot be stored.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_KIND_LIMIT, _TITLE_LIMIT, _URL_LIMIT, _CATEGORY_LIMIT = 20, 300, 500, 200
_POPULARITY_LIMIT = 2**31 - 1  # PositiveIntegerField's range on every database


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """A document as `do_index_documents` takes it; the fields of `do_index_document`."""

    kind: str
    ref_id: int
    title: str
    body: str
    url: str
    visibility: str
    organization_id: int | None = None
    category: str = ""
    popularity: int = 0


def do_index_document(
    *,
    kind: str,
    ref_id: int,
    title: str,
    body: str,
    url: str,
    visibility: str,
    organization_id: int | None = None,
    category: str = "",
    popularity: int = 0,
) -> None:
    """Add the document to the index, or replace the one with the same kind and ref_id."""
    do_index_documents(
        [
            IndexedDocument(
                kind=kind,
                ref_id=ref_id,
                title=title,
                body=body,
                url=url,
                visibility=visibility,
                organization_id=organization_id,
                category=category,
                popularity=popularity,
            )
        ]
    )


def do_index_documents(documents: Iterable[IndexedDocument]) -> int:
    """Add or replace many documents (imports, rebuilds); returns how many were written.

    Each batch of BATCH_SIZE commits on its own unless the caller holds a transaction, so a
    rebuild of 100,000 documents never keeps other writers waiting for more than a moment."""
    written = 0
    for batch in _batches(documents, BATCH_SIZE):
        rows = _rows(batch)
        with transaction.atomic():
            SearchDocument.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["kind", "ref_id"],
                update_fields=[
                    "title",
                    "body",
                    "url",
                    "category",
                    "visibility",
                    "organization_id",
                    "popularity",
                    "updated_at",
                ],
            )
        written += len(rows)
    return written


def do_remove_document(*, kind: str, ref_id: int) -> None:
    """Take the document out of the index; nothing happens when it is not there."""
    SearchDocument.objects.filter(kind=kind, ref_id=ref_id).delete()


def do_optimize_index() -> None:
    """Compact the index after a bulk load: fewer segments to read on every search.

    SQLite: FTS5 merges all its b-tree segments into one. PostgreSQL: the GIN index's pending
    list is merged (bulk inserts park new entries there) and the planner's statistics renewed."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_engine.optimize(cursor)
        elif connection.vendor == "postgresql":
            postgresql_engine.optimize(cursor)


def _batches(documents: Iterable[IndexedDocument], size: int) -> Iterator[list[IndexedDocument]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, size)):
        yield batch


def _rows(batch: list[IndexedDocument]) -> list[SearchDocument]:
    # One row per (kind, ref_id), the last one winning: PostgreSQL refuses an INSERT … ON
    # CONFLICT that would update the same row twice.
    now = timezone.now()
    rows: dict[tuple[str, int], SearchDocument] = {}
    for document in batch:
        row = _row(document, now)
        rows[(row.kind, row.ref_id)] = row
    return list(rows.values())


def _row(document: IndexedDocument, now: datetime) -> SearchDocument:
    kind, url = _clean(document.kind).strip(), _clean(document.url).strip()
    # Titles and categories come from the domains' own limits, which may be longer than
    # ours; a search copy cut short is better than refusing the caller's whole write.
    title = _shortened(" ".join(_clean(document.title).split()), _TITLE_LIMIT)
    category = _shortened(" ".join(_clean(document.category).split()), _CATEGORY_LIMIT)
    for name, value, limit in (("kind", kind, _KIND_LIMIT), ("url", url, _URL_LIMIT)):
        if len(value) > limit:
            raise InvalidInput(f"{name} is {len(value)} characters long; the limit is {limit}.")
    for name, value in (("kind", kind), ("title", title), ("url", url)):
        if not value:
            raise InvalidInput(f"A search document needs a {name}.")
    if document.ref_id < 0:
        raise InvalidInput("ref_id must not be negative.")
    if document.visibility not in Visibility.values:
        raise InvalidInput(
            f"Unknown visibility {document.visibility!r}; use one of {', '.join(Visibility.values)}."
        )
    organization_id = document.organization_id
    if document.visibility == Visibility.ORGANIZATION:
        if organization_id is None:
            raise InvalidInput("A document seen by one organization needs its organization_id.")
    else:
        organization_id = None  # only meaningful with visibility "organization"
    return SearchDocument(
        kind=kind,
        ref_id=document.ref_id,
        title=title,
        body=_clean(document.body).strip(),
        url=url,
        category=category,
        visibility=document.visibility,
        organization_id=organization_id,
        popularity=min(max(0, document.popularity), _POPULARITY_LIMIT),
        updated_at=now,
    )


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clean(text: str) -> str:
    return _UNSAFE_CHARACTERS.sub("", text)
