"""KCS figures: is the team documenting what customers ask? Week by week (weeks start on
Monday, UTC):

- link rate: solved tickets whose documentation decision links an article, of all solved;
- repeat rate: questions that repeat an earlier one, of all questions asked;
- gaps opened and closed;
- deflections: ask-box visits where the customer read an article and did not file, against
  visits that filed anyway;
and the questions asked most often that no article answers yet (the open gaps).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from askonce.accounts.models import User
from askonce.core.errors import Forbidden, InvalidInput
from askonce.kb.queries import is_staff_reader, self_service_by_day
from askonce.questions.models import Gap, GapStatus, Overlap, OverlapStatus, Question
from askonce.tickets.queries import solved_by_day

MAX_WEEKS = 104
TOP_UNANSWERED = 10


@dataclass
class KcsWeek:
    start: date
    solved: int = 0
    linked: int = 0
    questions: int = 0
    repeats: int = 0
    gaps_opened: int = 0
    gaps_closed: int = 0
    deflected: int = 0
    filed: int = 0

    @property
    def link_rate(self) -> float | None:
        return self.linked / self.solved if self.solved else None

    @property
    def repeat_rate(self) -> float | None:
        return self.repeats / self.questions if self.questions else None

    @property
    def deflection_rate(self) -> float | None:
        visits = self.deflected + self.filed
        return self.deflected / visits if visits else None


@dataclass
class Unanswered:
    gap_id: int
    title: str
    askings: int
    last_asked_at: datetime | None
    category: str


@dataclass
class KcsFigures:
    weeks: list[KcsWeek]
    totals: KcsWeek
    open_gaps: int
    open_overlaps: int
    top_unanswered: list[Unanswered] = field(default_factory=list)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _by_day(rows: Iterable[tuple[date, int, int]]) -> dict[date, tuple[int, int]]:
    return {day: (first, second) for day, first, second in rows}


def _count_by_day(queryset: QuerySet[Gap], field_name: str, since: datetime) -> dict[date, int]:
    rows = (
        queryset.filter(**{f"{field_name}__gte": since})
        .annotate(day=TruncDate(field_name, tzinfo=UTC))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by("day")
    )
    return {row["day"]: row["count"] for row in rows}


def kcs_figures(user: User, *, weeks: int = 12, now: datetime | None = None) -> KcsFigures:
    """The last `weeks` weeks, this one included (staff only)."""
    if not is_staff_reader(user):
        raise Forbidden("KCS figures are for staff.")
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(f"weeks must be between 1 and {MAX_WEEKS}, not {weeks}.")
    today = (now or timezone.now()).astimezone(UTC).date()
    first = week_start(today) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    starts = [first + timedelta(weeks=n) for n in range(weeks)]
    buckets = {start: KcsWeek(start=start) for start in starts}

    def bucket(day: date) -> KcsWeek | None:
        return buckets.get(week_start(day))

    for day, (solved, linked) in _by_day(solved_by_day(since)).items():
        if (week := bucket(day)) is not None:
            week.solved += solved
            week.linked += linked
    asked = (
        Question.objects.filter(asked_at__gte=since)
        .annotate(day=TruncDate("asked_at", tzinfo=UTC))
        .values("day")
        .annotate(count=Count("pk"), repeated=Count("pk", filter=Q(repeat_of__isnull=False)))
    )
    for row in asked:
        if (week := bucket(row["day"])) is not None:
            week.questions += row["count"]
            week.repeats += row["repeated"]
    for day, count in _count_by_day(Gap.objects.all(), "opened_at", since).items():
        if (week := bucket(day)) is not None:
            week.gaps_opened += count
    for day, count in _count_by_day(Gap.objects.all(), "closed_at", since).items():
        if (week := bucket(day)) is not None:
            week.gaps_closed += count
    for day, (deflected, filed) in _by_day(self_service_by_day(since)).items():
        if (week := bucket(day)) is not None:
            week.deflected += deflected
            week.filed += filed

    ordered = [buckets[start] for start in sorted(buckets)]
    totals = KcsWeek(start=first)
    for week in ordered:
        for name in (
            "solved",
            "linked",
            "questions",
            "repeats",
            "gaps_opened",
            "gaps_closed",
            "deflected",
            "filed",
        ):
            setattr(totals, name, getattr(totals, name) + getattr(week, name))
    return KcsFigures(
        weeks=ordered,
        totals=totals,
        open_gaps=Gap.objects.filter(status=GapStatus.OPEN).count(),
        open_overlaps=Overlap.objects.filter(
            status=OverlapStatus.OPEN, article__status="published", other__status="published"
        ).count(),
        top_unanswered=top_unanswered(),
    )


def top_unanswered(limit: int = TOP_UNANSWERED) -> list[Unanswered]:
    """The open gaps asked most often: the articles that would save the most answers."""
    gaps = (
        Gap.objects.filter(status=GapStatus.OPEN)
        .annotate(
            askings=Count("root__repeats", distinct=True) + 1,
            last_repeat=Max("root__repeats__asked_at"),
        )
        .select_related("root")
        .order_by("-askings", "-opened_at")[:limit]
    )
    return [
        Unanswered(
            gap_id=gap.pk,
            title=gap.title,
            askings=gap.askings,  # type: ignore[attr-defined]
            last_asked_at=gap.last_repeat or gap.root.asked_at,  # type: ignore[attr-defined]
            category=gap.category_slug,
        )
        for gap in gaps
    ]
