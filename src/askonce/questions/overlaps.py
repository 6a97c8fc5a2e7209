"""Overlaps: published articles that answer the same questions, or say the same thing in other
words. Each pair is flagged once to both owners, who decide: merge (one is archived and its
readers are sent to the other; every question linked to it is linked to the one kept) or keep
both. Two kinds of evidence:

- near duplicates: the cosine of the two articles' embeddings (title and opening text) reaches
  `ASKONCE_OVERLAP_THRESHOLD` (checked in the worker whenever an article is published or a
  published article changes);
- the same questions: askings of one question (a repeat group) were answered with both
  articles (checked when a solved ticket links an article, and by a sweep).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from askonce.accounts.models import User
from askonce.core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from askonce.core.events import record_event
from askonce.kb.actions import do_merge_article
from askonce.kb.markdown import markdown_to_text
from askonce.kb.models import Article, ArticleStatus
from askonce.kb.queries import can_edit_article, is_staff_reader
from askonce.notify.actions import do_queue_email
from askonce.questions.models import (
    ArticleVector,
    Gap,
    Overlap,
    OverlapReason,
    OverlapStatus,
    Question,
)
from askonce.search.embeddings import MODEL_NAME, encoder
from askonce.teams.queries import members_of, team_ids_of

logger = logging.getLogger(__name__)

# What is embedded of an article: its title and the start of its text (MiniLM reads 256 tokens).
ARTICLE_CHARS = 1_000
DECISIONS = ("merge", "keep")


def article_text(article: Article) -> str:
    return f"{article.title}\n{markdown_to_text(article.body)}"[:ARTICLE_CHARS]


# ---------------------------------------------------------------------------------------------
# Finding overlaps


def do_check_article_overlaps(article_id: int) -> list[Overlap]:
    """Embed a published article (again, if its text changed) and flag every other published
    article that says the same thing. Returns the overlaps flagged or updated."""
    article = Article.objects.filter(pk=article_id).first()
    if article is None or article.status != ArticleStatus.PUBLISHED:
        return []
    model = encoder()
    if model is None:
        return []  # full-text-only mode: near duplicates are not looked for
    stored = ArticleVector.objects.filter(article=article).first()
    if (
        stored is not None
        and stored.revision_number == article.revision_number
        and stored.embedding_model == MODEL_NAME
    ):
        vector = np.frombuffer(bytes(stored.embedding), dtype=np.float32)
    else:
        vector = model.encode([article_text(article)])[0].astype(np.float32)
        ArticleVector.objects.update_or_create(
            article=article,
            defaults={
                "revision_number": article.revision_number,
                "embedding": vector.tobytes(),
                "embedding_model": MODEL_NAME,
                "updated_at": timezone.now(),
            },
        )
    others = (
        ArticleVector.objects.filter(
            embedding_model=MODEL_NAME, article__status=ArticleStatus.PUBLISHED
        )
        .exclude(article=article)
        .values_list("article_id", "embedding")
    )
    ids, blobs = [], []
    for other_id, blob in others.iterator(chunk_size=1000):
        ids.append(other_id)
        blobs.append(np.frombuffer(bytes(blob), dtype=np.float32))
    if not ids:
        return []
    similarities = np.vstack(blobs) @ vector
    flagged = []
    for position in np.flatnonzero(similarities >= settings.OVERLAP_THRESHOLD):
        overlap = _flag(article.pk, ids[position], similarity=float(similarities[position]))
        if overlap is not None:
            flagged.append(overlap)
    return flagged


def do_check_question_overlaps(*, roots: set[int] | None = None) -> list[Overlap]:
    """Flag pairs of published articles that answered askings of the same question (one repeat
    group). `roots` limits the check to those groups (a ticket just solved); None checks all."""
    linked = Question.objects.exclude(article_slug="").annotate(root=Coalesce("repeat_of_id", "id"))
    if roots is not None:
        linked = linked.filter(Q(pk__in=roots) | Q(repeat_of_id__in=roots))
    slugs_by_group: dict[int, set[str]] = defaultdict(set)
    for root, slug in linked.values_list("root", "article_slug").iterator(chunk_size=2000):
        slugs_by_group[root].add(slug)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for slugs in slugs_by_group.values():
        for pair in combinations(sorted(slugs), 2):
            shared[pair] += 1
    if not shared:
        return []
    published = dict(
        Article.objects.filter(
            slug__in={slug for pair in shared for slug in pair}, status=ArticleStatus.PUBLISHED
        ).values_list("slug", "pk")
    )
    flagged = []
    for (first, second), count in shared.items():
        if first in published and second in published:
            overlap = _flag(published[first], published[second], shared_questions=count)
            if overlap is not None:
                flagged.append(overlap)
    return flagged


def _reason(similarity: float | None, shared_questions: int) -> str:
    duplicate = similarity is not None and similarity >= settings.OVERLAP_THRESHOLD
    if duplicate and shared_questions:
        return OverlapReason.BOTH
    return OverlapReason.NEAR_DUPLICATE if duplicate else OverlapReason.SAME_QUESTIONS


def _flag(
    first_id: int, second_id: int, *, similarity: float | None = None, shared_questions: int = 0
) -> Overlap | None:
    """Flag the pair once (and tell both owners); a pair flagged before only has its evidence
    brought up to date while open, and a decided pair stays decided."""
    low, high = sorted((first_id, second_id))
    existing = Overlap.objects.filter(article_id=low, other_id=high).first()
    if existing is not None:
        if existing.status != OverlapStatus.OPEN:
            return None
        if similarity is not None:
            existing.similarity = similarity
        existing.shared_questions = max(existing.shared_questions, shared_questions)
        existing.reason = _reason(existing.similarity, existing.shared_questions)
        existing.save(update_fields=["similarity", "shared_questions", "reason"])
        return existing
    try:
        with transaction.atomic():
            overlap = Overlap.objects.create(
                article_id=low,
                other_id=high,
                similarity=similarity,
                shared_questions=shared_questions,
                reason=_reason(similarity, shared_questions),
            )
            record_event(
                verb="overlap.flagged",
                subject_type="overlap",
                subject_id=overlap.pk,
                data={
                    "articles": [overlap.article.slug, overlap.other.slug],
                    "reason": overlap.reason,
                    "similarity": round(similarity, 4) if similarity is not None else None,
                    "shared_questions": shared_questions,
                },
            )
            _tell_owners(overlap)
    except IntegrityError:
        return Overlap.objects.filter(article_id=low, other_id=high).first()
    return overlap


def _owner_addresses(article: Article) -> list[str]:
    if article.owner_user is not None:
        return [article.owner_user.email]
    if article.owner_team is not None:
        return [member.email for member in members_of(article.owner_team)]
    return []


def _tell_owners(overlap: Overlap) -> None:
    first, second = overlap.article, overlap.other
    recipients = _owner_addresses(first) + _owner_addresses(second)
    evidence = []
    if overlap.similarity is not None:
        evidence.append(f"their texts are {overlap.similarity:.0%} alike")
    if overlap.shared_questions:
        evidence.append(f"{overlap.shared_questions} question(s) were answered with both")
    link = f"{settings.BASE_URL}{reverse('overlap-queue')}#overlap-{overlap.pk}"
    do_queue_email(
        recipients=recipients,
        kind="overlap_flagged",
        subject=f"Two articles overlap: {first.title} / {second.title}",
        body=(
            f"These published articles seem to answer the same question ({'; '.join(evidence)}):\n\n"
            f"  {first.title} ({first.owner_label or 'no owner'})\n"
            f"  {second.title} ({second.owner_label or 'no owner'})\n\n"
            f"Merge them into one, or keep both: {link}\n"
        ),
    )


# ---------------------------------------------------------------------------------------------
# Reading overlaps


def overlaps_for(
    user: User, *, status: str | None = "open", mine: bool = False
) -> QuerySet[Overlap]:
    """Overlaps staff may see; open ones only while both articles are still published."""
    if not is_staff_reader(user):
        raise Forbidden("Overlaps between articles are for staff.")
    overlaps = Overlap.objects.select_related(
        "article__owner_user",
        "article__owner_team",
        "other__owner_user",
        "other__owner_team",
        "kept",
        "decided_by",
    )
    if status:
        overlaps = overlaps.filter(status=status)
    if status == OverlapStatus.OPEN:
        overlaps = overlaps.filter(
            article__status=ArticleStatus.PUBLISHED, other__status=ArticleStatus.PUBLISHED
        )
    if mine:
        teams = team_ids_of(user)
        overlaps = overlaps.filter(
            Q(article__owner_user=user)
            | Q(other__owner_user=user)
            | Q(article__owner_team_id__in=teams)
            | Q(other__owner_team_id__in=teams)
        )
    return overlaps.order_by("-flagged_at", "-pk")


def access_overlap(user: User, overlap_id: int) -> Overlap:
    found = overlaps_for(user, status=None).filter(pk=overlap_id).first()
    if found is None:
        raise NotFound(f"No overlap #{overlap_id}.")
    return found


# ---------------------------------------------------------------------------------------------
# Deciding


@dataclass(frozen=True)
class Decision:
    decision: str  # "merge" or "keep"
    keep: str = ""  # on merge: the slug of the article that stays
    note: str = ""


def do_decide_overlap(*, overlap: Overlap, actor: User, decision: Decision) -> Overlap:
    """An owner of either article (or an admin) decides. Merging archives the other article,
    sends its readers to the one kept and links every question it answered to that one."""
    if decision.decision not in DECISIONS:
        raise InvalidInput(
            f"decision must be one of {', '.join(DECISIONS)}, not '{decision.decision}'."
        )
    pair = {overlap.article.slug: overlap.article, overlap.other.slug: overlap.other}
    if not (can_edit_article(actor, overlap.article) or can_edit_article(actor, overlap.other)):
        raise Forbidden(
            f"Only an owner of '{overlap.article.slug}' or '{overlap.other.slug}' or an admin"
            " may decide this overlap."
        )
    kept: Article | None = None
    if decision.decision == "merge":
        if decision.keep not in pair:
            raise InvalidInput(
                f"keep must name the article that stays: {' or '.join(sorted(pair))}."
            )
        kept = pair[decision.keep]
    with transaction.atomic():
        locked = Overlap.objects.select_for_update().get(pk=overlap.pk)
        if locked.status != OverlapStatus.OPEN:
            raise InvalidTransition(
                action=decision.decision,
                current=locked.status,
                allowed=[],
                subject=f"overlap #{overlap.pk}",
            )
        now = timezone.now()
        if kept is not None:
            merged = overlap.other if kept.pk == overlap.article_id else overlap.article
            do_merge_article(article=merged, into=kept, actor=actor)
            relinked = Question.objects.filter(article_slug=merged.slug).update(
                article_slug=kept.slug
            )
            Gap.objects.filter(article_slug=merged.slug).update(article_slug=kept.slug)
            # Other open overlaps of the merged article are decided by this merge.
            Overlap.objects.filter(
                Q(article=merged) | Q(other=merged), status=OverlapStatus.OPEN
            ).exclude(pk=overlap.pk).update(
                status=OverlapStatus.MERGED,
                decided_at=now,
                decided_by=actor,
                note=f"'{merged.slug}' was merged into '{kept.slug}' (overlap #{overlap.pk})",
            )
        locked.status = OverlapStatus.MERGED if kept is not None else OverlapStatus.KEPT
        locked.kept = kept
        locked.decided_at = now
        locked.decided_by = actor
        locked.note = decision.note[:500]
        locked.save(update_fields=["status", "kept", "decided_at", "decided_by", "note"])
        record_event(
            verb="overlap.decided",
            subject_type="overlap",
            subject_id=overlap.pk,
            actor=actor,
            from_state=OverlapStatus.OPEN,
            to_state=locked.status,
            note=decision.note[:500],
            data={
                "decision": decision.decision,
                "kept": kept.slug if kept is not None else None,
                "relinked_questions": relinked if kept is not None else 0,
            },
        )
    return locked
