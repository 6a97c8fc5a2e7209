"""Documentation gaps: a question asked a second time that no article answers opens a gap with
every asking and the answers agents gave, for the owner of the best-matching category. Later
repeats join it; publishing the article written from it answers every asking and closes it."""

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from askonce.accounts.models import User
from askonce.core.errors import Forbidden, InvalidTransition, NotFound
from askonce.core.events import record_event
from askonce.core.models import Event
from askonce.kb.actions import do_start_draft
from askonce.kb.models import Article, Category
from askonce.kb.queries import (
    article_slug,
    category_for_question,
    default_category,
    is_staff_reader,
)
from askonce.questions.models import Gap, GapStatus, Question
from askonce.teams.models import Team
from askonce.teams.queries import team_ids_of


def occurrences(gap: Gap) -> QuerySet[Question]:
    """Every asking of the gap's question: the first and its repeats, oldest first."""
    return Question.objects.filter(Q(pk=gap.root_id) | Q(repeat_of_id=gap.root_id)).order_by(
        "asked_at", "pk"
    )


def _group_article(root: Question) -> str:
    """The article that already answers this question's group, if any asking was linked."""
    return (
        Question.objects.filter(Q(pk=root.pk) | Q(repeat_of=root))
        .exclude(article_slug="")
        .values_list("article_slug", flat=True)
        .first()
        or ""
    )


def do_consider_gap(question: Question) -> Gap | None:
    """After a repeat is recorded: open the group's gap, or let the repeat join it, or, when
    the group is answered already, give the repeat that article."""
    root = question.repeat_of
    if root is None:
        return None
    earlier = Question.objects.filter(pk=root.pk).values_list("repeat_of_id", flat=True).first()
    if earlier is not None:
        # The worker's regrouping made that first asking a repeat of an earlier one after the
        # matching process last loaded its groups: the question belongs to the earlier one.
        root = Question.objects.get(pk=earlier)
        Question.objects.filter(pk=question.pk).update(repeat_of=root)
        question.repeat_of = root
    existing = Gap.objects.filter(root=root).first()
    if existing is not None:
        if existing.status == GapStatus.CLOSED and existing.article_slug:
            Question.objects.filter(pk=question.pk).update(article_slug=existing.article_slug)
        elif existing.status == GapStatus.CLOSED:
            # Closed by a regrouping (merged away or left alone), asked again: open once more.
            existing.status = GapStatus.OPEN
            existing.closed_at = None
            existing.save(update_fields=["status", "closed_at"])
            record_event(
                verb="gap.reopened",
                subject_type="gap",
                subject_id=existing.pk,
                data={
                    "question": question.pk,
                    "source": f"{question.source_type}:{question.source_id}",
                },
            )
        else:
            record_event(
                verb="gap.joined",
                subject_type="gap",
                subject_id=existing.pk,
                data={
                    "question": question.pk,
                    "source": f"{question.source_type}:{question.source_id}",
                },
            )
        return existing
    answered_by = _group_article(root)
    if answered_by:
        Question.objects.filter(pk=question.pk, article_slug="").update(article_slug=answered_by)
        return None
    category = category_for_question(root.text) or default_category()
    owner_user = category.owner_user_id if category else None
    owner_team = category.owner_team_id if category else None
    if owner_user is None and owner_team is None:
        owner_team = Team.objects.filter(slug="support").values_list("pk", flat=True).first()
    try:
        with transaction.atomic():
            gap = Gap.objects.create(
                root=root,
                title=root.text.splitlines()[0][:300] if root.text else f"Question {root.pk}",
                category_slug=category.slug if category else "",
                owner_user_id=owner_user,
                owner_team_id=owner_team,
            )
            record_event(
                verb="gap.opened",
                subject_type="gap",
                subject_id=gap.pk,
                data={"root": root.pk, "question": question.pk, "category": gap.category_slug},
            )
    except IntegrityError:
        return Gap.objects.get(root=root)
    return gap


def owner_labels(gaps: list[Gap]) -> dict[int, str]:
    """Each gap's owner as 'email' or 'team:<slug>', looked up for the whole list at once."""
    users = dict(
        User.objects.filter(pk__in={g.owner_user_id for g in gaps if g.owner_user_id}).values_list(
            "pk", "email"
        )
    )
    teams = dict(
        Team.objects.filter(pk__in={g.owner_team_id for g in gaps if g.owner_team_id}).values_list(
            "pk", "slug"
        )
    )
    labels = {}
    for gap in gaps:
        if gap.owner_user_id in users:
            labels[gap.pk] = users[gap.owner_user_id]
        elif gap.owner_team_id in teams:
            labels[gap.pk] = f"team:{teams[gap.owner_team_id]}"
    return labels


def access_gap(gap_id: int) -> Gap:
    gap = Gap.objects.select_related("root").filter(pk=gap_id).first()
    if gap is None:
        raise NotFound(f"No gap #{gap_id}.")
    return gap


def gaps_for(user: User, *, status: str | None = "open", mine: bool = False) -> QuerySet[Gap]:
    """Gaps with `occurrence_count` (the first asking and its repeats) counted in the query."""
    if not is_staff_reader(user):
        raise Forbidden("Documentation gaps are for staff.")
    gaps = Gap.objects.select_related("root").annotate(
        occurrence_count=Count("root__repeats", distinct=True) + 1
    )
    if status:
        gaps = gaps.filter(status=status)
    if mine:
        gaps = gaps.filter(Q(owner_user_id=user.pk) | Q(owner_team_id__in=team_ids_of(user)))
    return gaps.order_by("opened_at")


def best_answer(gap: Gap) -> Question | None:
    return occurrences(gap).exclude(answer="").order_by("-answered_at").first()


def do_write_article_from_gap(*, gap: Gap, actor: User) -> Article:
    """A draft prefilled with the question and the best answer agents gave, owned by the
    writer, in the gap's category; publishing it closes the gap."""
    if gap.status != GapStatus.OPEN:
        raise InvalidTransition(
            action="write an article for", current=gap.status, allowed=[], subject=f"gap #{gap.pk}"
        )
    if gap.article_slug:
        existing = Article.objects.filter(slug=gap.article_slug).first()
        if existing is not None:
            return existing
    category = (
        Category.objects.filter(slug=gap.category_slug).first() if gap.category_slug else None
    ) or default_category()
    if category is None:
        raise InvalidTransition(
            action="write an article for",
            current="no category",
            allowed=[],
            subject=f"gap #{gap.pk} (create a category first)",
        )
    answer = best_answer(gap)
    askings = list(occurrences(gap)[:10])
    body = "\n".join(
        [
            f"<!-- Written from documentation gap #{gap.pk}: asked {occurrences(gap).count()} times -->",
            "",
            "## The question",
            "",
            *[f"> {asking.text.splitlines()[0]}" for asking in askings[:3]],
            "",
            "## The answer",
            "",
            answer.answer if answer is not None else "(No agent answer yet: write it here.)",
            "",
        ]
    )
    with transaction.atomic():
        article = do_start_draft(
            actor=actor,
            title=gap.title,
            body=body,
            category=category,
            slug_hint=gap.title or f"gap-{gap.pk}",
            note=f"Draft from documentation gap #{gap.pk}",
        )
        gap.article_slug = article.slug
        gap.save(update_fields=["article_slug"])
    return article


def _close_gap(gap: Gap, *, slug: str, actor: object = None, **data: object) -> int:
    """Close the gap as answered by the article `slug`; every asking of its question is linked
    to it. Returns how many askings were linked."""
    with transaction.atomic():
        gap.status = GapStatus.CLOSED
        gap.closed_at = timezone.now()
        gap.article_slug = slug
        gap.save(update_fields=["status", "closed_at", "article_slug"])
        linked = occurrences(gap).update(article_slug=slug)
        record_event(
            verb="gap.closed",
            subject_type="gap",
            subject_id=gap.pk,
            actor=actor,
            data={"article": slug, "occurrences": linked, **data},
        )
    return linked


def do_close_gaps_for_article(event: Event) -> int:
    """`article.published`: every open gap written into this article closes, and every asking
    of its question is answered by the article. Returns how many gaps closed."""
    slug = article_slug(event.subject_id)
    closed = 0
    for gap in Gap.objects.filter(article_slug=slug, status=GapStatus.OPEN):
        _close_gap(gap, slug=slug, actor=event.actor)
        closed += 1
    return closed


def do_close_gap_answered_by(question: Question) -> Gap | None:
    """A solved ticket linked an article to an asking of an open gap: the article answers the
    question, so the gap closes and every asking of it is linked to that article."""
    if not question.article_slug:
        return None
    root_id = question.repeat_of_id or question.pk
    gap = Gap.objects.filter(root_id=root_id, status=GapStatus.OPEN).first()
    if gap is None:
        return None
    _close_gap(
        gap,
        slug=question.article_slug,
        answered_in=f"{question.source_type}:{question.source_id}",
    )
    return gap


def do_move_gap(*, gap: Gap, root: Question) -> Gap:
    """The regrouping found an earlier first asking of the gap's question: the gap follows it
    (its occurrences are the new root's group from now on)."""
    if gap.root_id == root.pk:
        return gap
    with transaction.atomic():
        earlier = gap.root_id
        gap.root = root
        gap.title = root.text.splitlines()[0][:300] if root.text else f"Question {root.pk}"
        gap.save(update_fields=["root", "title"])
        record_event(
            verb="gap.moved",
            subject_type="gap",
            subject_id=gap.pk,
            data={"root": root.pk, "earlier_root": earlier},
        )
    return gap


def do_merge_gap(*, gap: Gap, into: Gap | None, reason: str) -> Gap:
    """Close an open gap whose askings the regrouping moved: into the gap they joined (`into`),
    or into none when they turned out to be different questions, each asked once. Its
    occurrences already belong to their new groups (occurrences follow `repeat_of`)."""
    if gap.status != GapStatus.OPEN:
        raise InvalidTransition(
            action="merge", current=gap.status, allowed=[], subject=f"gap #{gap.pk}"
        )
    with transaction.atomic():
        gap.status = GapStatus.CLOSED
        gap.closed_at = timezone.now()
        gap.save(update_fields=["status", "closed_at"])
        record_event(
            verb="gap.merged",
            subject_type="gap",
            subject_id=gap.pk,
            from_state=GapStatus.OPEN,
            to_state=GapStatus.CLOSED,
            note=reason,
            data={"into": into.pk if into is not None else None},
        )
    return gap
