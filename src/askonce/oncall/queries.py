"""Reads of on-call: schedules (who may see them, their shifts, who is on call, timelines to
draw), escalation policies, pages and routing keys."""

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from askonce.accounts.models import User
from askonce.accounts.queries import user_by_email
from askonce.core.errors import Forbidden, InvalidInput, NotFound
from askonce.oncall import rotation
from askonce.oncall.models import (
    OPEN_PAGE_STATES,
    EscalationPolicy,
    EscalationStep,
    EscalationTimer,
    Layer,
    LayerParticipant,
    Override,
    Page,
    RoutingKey,
    Schedule,
)
from askonce.oncall.rotation import LayerSpec, OverrideSpec, ScheduleSpec, Shift, ShiftLength
from askonce.teams.models import Team
from askonce.tickets.models import Status as TicketStatus
from askonce.tickets.models import Ticket

# Longest window one request may lay out: a year of hourly turns is still quick to compute.
MAX_WINDOW = timedelta(days=366)
# How far `on_call_at` looks ahead for the end of someone's duty before answering "no end".
UNTIL_HORIZONS = (timedelta(days=2), timedelta(days=35), timedelta(days=366))
# How far back `on_call_at` looks for the start of someone's duty.
SINCE_HORIZON = timedelta(days=35)


def check_can_see_schedules(user: User) -> None:
    if not user.is_authenticated or not user.is_active or not user.is_staff_member:
        raise Forbidden("On-call schedules are visible to staff only.")


def visible_schedules(user: User) -> QuerySet[Schedule]:
    """Every schedule, for staff: anyone may need to know who to page on another team."""
    check_can_see_schedules(user)
    return Schedule.objects.select_related("team").order_by("name")


def _id_or_slug(reference: int | str) -> dict[str, int | str]:
    text = str(reference).strip()
    by_id = text.isascii() and text.isdigit() and len(text) < 19  # within a 64-bit key
    return {"pk": int(text)} if by_id else {"slug": text}


def access_schedule(user: User, reference: int | str) -> Schedule:
    """The schedule by id or slug, for staff; NotFound when there is no such schedule."""
    schedule = visible_schedules(user).filter(**_id_or_slug(reference)).first()
    if schedule is None:
        raise NotFound(f"Schedule {reference!r} not found.")
    return schedule


def schedule_layer(schedule: Schedule, layer_id: int) -> Layer:
    """One layer of a schedule the caller has access to (`access_schedule`)."""
    layer = schedule.layers.select_related("schedule", "schedule__team").filter(pk=layer_id).first()
    if layer is None:
        raise NotFound(f"Schedule {schedule.slug!r} has no layer #{layer_id}.")
    return layer


def schedule_override(schedule: Schedule, override_id: int) -> Override:
    """One override of a schedule the caller has access to (`access_schedule`)."""
    override = (
        schedule.overrides.select_related("user", "schedule", "schedule__team")
        .filter(pk=override_id)
        .first()
    )
    if override is None:
        raise NotFound(f"Schedule {schedule.slug!r} has no override #{override_id}.")
    return override


def people_by_email(emails: list[str]) -> list[User]:
    """The people with these addresses, in the same order; InvalidInput names any unknown one."""
    people = []
    for email in emails:
        person = user_by_email(email)
        if person is None:
            raise InvalidInput(f"Nobody has the address {email!r}.")
        people.append(person)
    return people


def on_call_candidates(user: User) -> list[User]:
    """Everyone who can be put in a schedule (active staff), for the console's pickers."""
    check_can_see_schedules(user)
    return list(User.objects.filter(kind=User.Kind.STAFF, is_active=True).order_by("email"))


def schedule_by_slug(slug: str) -> Schedule | None:
    return Schedule.objects.select_related("team").filter(slug=slug).first()


def schedule_layers(schedule: Schedule) -> list[Layer]:
    """The layers, highest priority first, each with `participants` (ordered rows) loaded."""
    return list(
        schedule.layers.order_by("-priority").prefetch_related(
            Prefetch(
                "participants",
                queryset=LayerParticipant.objects.select_related("user").order_by("position"),
            )
        )
    )


def layer_people(layer: Layer) -> list[User]:
    return [row.user for row in layer.participants.all()]


def current_overrides(schedule: Schedule, now: datetime | None = None) -> list[Override]:
    """Overrides that have not ended yet, soonest first."""
    now = now or timezone.now()
    return list(schedule.overrides.filter(end__gt=now).select_related("user").order_by("start"))


def check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start and end need a time zone offset, e.g. 2027-03-15T09:00:00Z.")
    if end <= start:
        raise InvalidInput(
            f"end must be after start (start {start.isoformat()}, end {end.isoformat()})."
        )
    if end - start > MAX_WINDOW:
        raise InvalidInput(f"A window can be at most {MAX_WINDOW.days} days long.")


def layer_spec(layer: Layer) -> LayerSpec[User]:
    return LayerSpec(
        key=layer.pk,
        name=layer.name,
        priority=layer.priority,
        time_zone=layer.time_zone,
        rotation_start=layer.rotation_start,
        shift_length=ShiftLength(layer.shift_count, rotation.ShiftUnit(layer.shift_unit)),
        handoff_time=layer.handoff_time,
        participants=tuple(layer_people(layer)),
        restrictions=rotation.parse_restrictions(layer.restrictions),
    )


def _override_specs(schedule: Schedule, start: datetime, end: datetime) -> list[OverrideSpec[User]]:
    """The overrides that touch [start, end), as plain data."""
    rows = schedule.overrides.filter(start__lt=end, end__gt=start).select_related("user")
    return [
        OverrideSpec(key=row.pk, user=row.user, start=row.start, end=row.end, reason=row.reason)
        for row in rows.order_by("id")
    ]


def schedule_spec(schedule: Schedule, start: datetime, end: datetime) -> ScheduleSpec[User]:
    """The schedule as plain data for `rotation`, with the overrides that touch [start, end)."""
    return ScheduleSpec(
        layers=tuple(layer_spec(layer) for layer in schedule_layers(schedule)),
        overrides=tuple(_override_specs(schedule, start, end)),
    )


@dataclass(frozen=True)
class LoadedSchedule:
    """A schedule with its layers (highest first) and, as plain data, with the overrides that
    touch the window it was loaded for."""

    schedule: Schedule
    layers: list[Layer]
    spec: ScheduleSpec[User]


def load_schedules(
    schedules: Sequence[Schedule], start: datetime, end: datetime
) -> list[LoadedSchedule]:
    """Many schedules at once in three queries (not three per schedule): the worker's passes
    and the "who is on call now" page go over every schedule."""
    ids = [schedule.pk for schedule in schedules]
    layers: dict[int, list[Layer]] = defaultdict(list)
    rows = (
        Layer.objects.filter(schedule_id__in=ids)
        .order_by("schedule_id", "-priority")
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=LayerParticipant.objects.select_related("user").order_by("position"),
            )
        )
    )
    for layer in rows:
        layers[layer.schedule_id].append(layer)
    overrides: dict[int, list[OverrideSpec[User]]] = defaultdict(list)
    touching = Override.objects.filter(schedule_id__in=ids, start__lt=end, end__gt=start)
    for row in touching.select_related("user").order_by("id"):
        overrides[row.schedule_id].append(
            OverrideSpec(key=row.pk, user=row.user, start=row.start, end=row.end, reason=row.reason)
        )
    return [
        LoadedSchedule(
            schedule=schedule,
            layers=layers[schedule.pk],
            spec=ScheduleSpec(
                layers=tuple(layer_spec(layer) for layer in layers[schedule.pk]),
                overrides=tuple(overrides[schedule.pk]),
            ),
        )
        for schedule in schedules
    ]


def final_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift[User]]:
    """Who is on call within [start, end): no overlaps, higher layers and overrides winning."""
    check_window(start, end)
    return rotation.final_shifts(schedule_spec(schedule, start, end), start, end)


@dataclass(frozen=True)
class OnCall:
    """Who is on call at one instant, which layer (or override) put them there, until when."""

    user: User
    source: rotation.Source
    since: datetime
    # None when the duty goes on past the furthest horizon looked at (a year).
    until: datetime | None


def on_call_at(schedule: Schedule, at: datetime) -> OnCall | None:
    """The person on call at `at`, or None; with when their duty began and when it ends."""
    return on_call_in([schedule], at)[schedule.pk]


def on_call_in(schedules: Sequence[Schedule], at: datetime) -> dict[int, OnCall | None]:
    """`on_call_at` for many schedules (by id), loading them together."""
    if at.tzinfo is None:
        raise InvalidInput("at needs a time zone offset, e.g. 2027-03-15T09:00:00Z.")
    earliest, latest = at - SINCE_HORIZON, at + UNTIL_HORIZONS[-1]
    return {
        loaded.schedule.pk: _on_call(loaded.spec, earliest, at)
        for loaded in load_schedules(schedules, earliest, latest)
    }


def _on_call(spec: ScheduleSpec[User], earliest: datetime, at: datetime) -> OnCall | None:
    # Who is on call now first: a day back is enough to find it, and a quiet schedule costs
    # no more than that; only then look further back for when their duty began.
    moment = timedelta(microseconds=1)
    behind = rotation.final_shifts(spec, max(earliest, at - timedelta(days=1)), at + moment)
    if not behind or behind[-1].end <= at:
        return None
    if behind[0].user == behind[-1].user and behind[0].start > earliest:
        behind = rotation.final_shifts(spec, earliest, at + moment)
    person, source = behind[-1].user, behind[-1].source
    since = behind[-1].start
    for shift in reversed(behind[:-1]):
        if shift.end != since or shift.user != person:
            break
        since = shift.start
    return OnCall(user=person, source=source, since=since, until=_end_of_duty(spec, person, at))


def _end_of_duty(spec: ScheduleSpec[User], person: User, at: datetime) -> datetime | None:
    """When `person`, on call at `at`, hands over or the schedule leaves nobody on call."""
    for horizon in UNTIL_HORIZONS:
        end = at
        for shift in rotation.final_shifts(spec, at, at + horizon):
            if shift.start != end or shift.user != person:
                return end
            end = shift.end
        if end < at + horizon:
            return end
    return None


def who_is_on_call(schedule: Schedule, at: datetime) -> User | None:
    """Only who (what paging needs): no look back or ahead for since and until."""
    if at.tzinfo is None:
        raise InvalidInput("at needs a time zone offset, e.g. 2027-03-15T09:00:00Z.")
    moment = timedelta(microseconds=1)
    return rotation.who_is_on_call(schedule_spec(schedule, at, at + moment), at)


@dataclass(frozen=True)
class TimelineRow:
    """One row to draw: a layer's shifts, the overrides, or the final schedule."""

    kind: str  # "layer", "overrides" or "final"
    label: str
    shifts: list[Shift[User]]
    layer: Layer | None = None


@dataclass(frozen=True)
class Timeline:
    schedule: Schedule
    start: datetime
    end: datetime
    rows: list[TimelineRow]


def timeline(schedule: Schedule, start: datetime, end: datetime) -> Timeline:
    """Rows for a schedule page: each layer (highest first), the overrides, then the result."""
    check_window(start, end)
    layers = schedule_layers(schedule)
    specs = [layer_spec(layer) for layer in layers]
    overrides = tuple(_override_specs(schedule, start, end))
    rows = [
        TimelineRow("layer", layer.name, rotation.layer_shifts(spec, start, end), layer)
        for layer, spec in zip(layers, specs, strict=True)
    ]
    rows.append(
        TimelineRow("overrides", "Overrides", rotation.override_shifts(overrides, start, end))
    )
    final = rotation.final_shifts(ScheduleSpec(tuple(specs), overrides), start, end)
    rows.append(TimelineRow("final", "Final schedule", final))
    return Timeline(schedule=schedule, start=start, end=end, rows=rows)


def team_schedules(team: Team) -> list[Schedule]:
    return list(Schedule.objects.filter(team=team).order_by("id"))


# One person's shifts across every schedule ("my shifts", their calendar feed, handoff notices)

# How far back a shift that is under way at the start of a window is followed to its start.
SHIFT_LOOKBACK = timedelta(days=8)
MAX_MY_SHIFTS_DAYS = 90


@dataclass(frozen=True)
class PersonShift:
    """`user` is on call in `schedule` from `start` to `end`: one unbroken stretch, whichever
    layers or overrides put them there (`sources`, in order)."""

    schedule: Schedule
    user: User
    start: datetime
    end: datetime
    sources: tuple[rotation.Source, ...]
    # Some of it comes from a ticket-duty layer (the person also watches new tickets then).
    ticket_duty: bool = False

    @property
    def labels(self) -> list[str]:
        return [source.name for source in self.sources]


def stretches(
    schedule: Schedule, shifts: list[Shift[User]], duty_layers: set[int]
) -> list[PersonShift]:
    """Final shifts joined where the same person goes on: one entry per person per stretch."""
    joined: list[PersonShift] = []
    for shift in shifts:
        duty = shift.source.kind == "layer" and shift.source.key in duty_layers
        last = joined[-1] if joined else None
        if last is not None and last.end == shift.start and last.user == shift.user:
            sources = (
                last.sources if shift.source in last.sources else (*last.sources, shift.source)
            )
            joined[-1] = PersonShift(
                schedule, last.user, last.start, shift.end, sources, last.ticket_duty or duty
            )
        else:
            joined.append(
                PersonShift(schedule, shift.user, shift.start, shift.end, (shift.source,), duty)
            )
    return joined


def schedule_stretches(
    schedule: Schedule, start: datetime, end: datetime, *, lookback: bool = True
) -> list[PersonShift]:
    """Who is on call in [start, end), stretch by stretch. With `lookback`, a stretch under way
    at `start` is followed back (up to SHIFT_LOOKBACK) so its `start` is when it really began;
    without, it starts at `start`."""
    check_window(start, end)
    earliest = start - SHIFT_LOOKBACK if lookback else start
    [loaded] = load_schedules([schedule], earliest, end)
    return [item for item in loaded_stretches(loaded, earliest, end) if item.end > start]


def loaded_stretches(loaded: LoadedSchedule, start: datetime, end: datetime) -> list[PersonShift]:
    """`schedule_stretches` of a schedule loaded (with `load_schedules`) for [start, end)."""
    shifts = rotation.final_shifts(loaded.spec, start, end)
    duty_layers = {layer.pk for layer in loaded.layers if layer.ticket_duty}
    return stretches(loaded.schedule, shifts, duty_layers)


def schedules_with(person: User, start: datetime, end: datetime) -> list[Schedule]:
    """Schedules where `person` takes turns in a layer or has an override within [start, end)."""
    in_layers = LayerParticipant.objects.filter(user=person).values("layer__schedule_id")
    overridden = Override.objects.filter(user=person, start__lt=end, end__gt=start).values(
        "schedule_id"
    )
    return list(
        Schedule.objects.filter(Q(pk__in=in_layers) | Q(pk__in=overridden))
        .select_related("team")
        .order_by("name")
    )


def shifts_of(person: User, start: datetime, end: datetime) -> list[PersonShift]:
    """`person`'s stretches on call within [start, end) in every schedule, soonest first, with
    everything the final schedule applies (higher layers, restrictions, overrides)."""
    check_window(start, end)
    earliest = start - SHIFT_LOOKBACK
    found = [
        item
        for loaded in load_schedules(schedules_with(person, earliest, end), earliest, end)
        for item in loaded_stretches(loaded, earliest, end)
        if item.user == person and item.end > start
    ]
    return sorted(found, key=lambda item: (item.start, item.schedule.name))


def my_shifts(user: User, *, days: int, now: datetime | None = None) -> list[PersonShift]:
    """The signed-in person's shifts from now to `days` ahead (a shift under way included)."""
    check_can_see_schedules(user)
    if not 1 <= days <= MAX_MY_SHIFTS_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_MY_SHIFTS_DAYS}; got {days}.")
    now = now or timezone.now()
    return shifts_of(user, now, now + timedelta(days=days))


# Ticket duty: whoever the schedule puts on call while a ticket-duty layer covers


@dataclass(frozen=True)
class TicketDuty:
    """`user` watches new tickets from `start` to `end` (`schedule`'s ticket-duty hours)."""

    user: User
    schedule: Schedule
    start: datetime
    end: datetime


def ticket_duty_between(start: datetime, end: datetime) -> list[TicketDuty]:
    """Who is on ticket duty within [start, end), in every schedule that has a ticket-duty layer.

    Ticket duty is the ticket-duty layers' own rotation within their own hours (the weekend),
    whatever higher layers do then; overrides on the schedule win over it as over any layer, so
    swapping a weekend with an override swaps its ticket duty too.
    """
    check_window(start, end)
    duties: list[TicketDuty] = []
    schedules = Schedule.objects.filter(layers__ticket_duty=True).distinct().select_related("team")
    for loaded in load_schedules(list(schedules.order_by("id")), start, end):
        schedule = loaded.schedule
        specs = [
            spec
            for layer, spec in zip(loaded.layers, loaded.spec.layers, strict=True)
            if layer.ticket_duty
        ]
        covered = rotation.union_of(
            (shift.start, shift.end)
            for spec in specs
            for shift in rotation.layer_shifts(spec, start, end)
        )
        if not covered:
            continue
        spec = ScheduleSpec(tuple(specs), loaded.spec.overrides)
        for shift in rotation.final_shifts(spec, covered[0][0], covered[-1][1]):
            for opens, closes in covered:
                begins, ends = max(opens, shift.start), min(closes, shift.end)
                if begins >= ends:
                    continue
                last = duties[-1] if duties else None
                if (
                    last is not None
                    and last.schedule == schedule
                    and last.user == shift.user
                    and last.end == begins
                ):
                    duties[-1] = TicketDuty(shift.user, schedule, last.start, ends)
                else:
                    duties.append(TicketDuty(shift.user, schedule, begins, ends))
    return duties


# Escalation policies


def visible_policies(user: User) -> QuerySet[EscalationPolicy]:
    """Every policy, for staff: anyone may need to page another team."""
    check_can_see_schedules(user)
    return EscalationPolicy.objects.select_related("team").order_by("name")


def access_policy(user: User, reference: int | str) -> EscalationPolicy:
    """The policy by id or slug, for staff; NotFound when there is no such policy."""
    policy = visible_policies(user).filter(**_id_or_slug(reference)).first()
    if policy is None:
        raise NotFound(f"Escalation policy {reference!r} not found.")
    return policy


def policy_by_slug(slug: str) -> EscalationPolicy | None:
    return EscalationPolicy.objects.select_related("team").filter(slug=slug).first()


def policy_for_team(team: Team) -> EscalationPolicy | None:
    """The policy that pages a team: the one with the team's slug, else its oldest."""
    policies = EscalationPolicy.objects.select_related("team").filter(team=team)
    return policies.filter(slug=team.slug).first() or policies.order_by("id").first()


def policy_steps(policy: EscalationPolicy) -> list[EscalationStep]:
    return list(
        policy.steps.select_related("schedule", "user", "team", "schedule__team").order_by(
            "position"
        )
    )


def hash_routing_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def routing_key_for(key: str) -> RoutingKey | None:
    """The active routing key with this secret, with its policy; None for anything else."""
    key = key.strip()
    if not key or len(key) > 200:
        return None
    return (
        RoutingKey.objects.select_related("policy", "policy__team")
        .filter(key_hash=hash_routing_key(key), revoked_at__isnull=True)
        .first()
    )


# Pages

PAGE_FILTERS = ["open", "triggered", "acknowledged", "resolved", "all"]


def visible_pages(user: User) -> QuerySet[Page]:
    """Every page, for staff (who may be paged for any team's trouble)."""
    check_can_see_schedules(user)
    return Page.objects.select_related(
        "policy", "policy__team", "acknowledged_by", "resolved_by", "triggered_by"
    )


def filter_pages(user: User, *, status: str = "open", team: Team | None = None) -> QuerySet[Page]:
    if status not in PAGE_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(PAGE_FILTERS)}; got {status!r}.")
    pages = visible_pages(user)
    if status == "open":
        pages = pages.filter(status__in=OPEN_PAGE_STATES)
    elif status != "all":
        pages = pages.filter(status=status)
    if team is not None:
        pages = pages.filter(policy__team=team)
    return pages.order_by("-created_at", "-id")


def access_page(user: User, page_id: int) -> Page:
    page = visible_pages(user).filter(pk=page_id).first()
    if page is None:
        raise NotFound(f"Page #{page_id} not found.")
    return page


def open_page(policy: EscalationPolicy, dedup_key: str) -> Page | None:
    """The triggered or acknowledged page of this policy with this key, if there is one."""
    if not dedup_key:
        return None
    return Page.objects.filter(
        policy=policy, dedup_key=dedup_key, status__in=OPEN_PAGE_STATES
    ).first()


def page_timers(page: Page) -> list[EscalationTimer]:
    return list(page.timers.order_by("round", "step_index"))


@dataclass(frozen=True)
class TicketBrief:
    """What a page says about its ticket."""

    id: int
    subject: str
    organization: str
    first_message: str


@dataclass(frozen=True)
class NewTicket:
    """What a ticket-duty notice says about a new ticket, and whether it still waits."""

    id: int
    subject: str
    organization: str
    requester: str
    first_message: str
    unclaimed: bool
    emergency: bool


def new_ticket(ticket_id: int) -> NewTicket | None:
    """The ticket as ticket duty sees it; None if there is no such ticket."""
    # Read as the system, like ticket_brief: nobody is signed in when a ticket arrives.
    ticket = Ticket.objects.select_related("organization", "requester").filter(pk=ticket_id).first()
    if ticket is None:
        return None
    first = ticket.messages.order_by("id").values_list("body", flat=True).first() or ""
    return NewTicket(
        id=ticket.pk,
        subject=ticket.subject,
        organization=ticket.organization.name if ticket.organization else "",
        requester=ticket.requester.email if ticket.requester else "",
        first_message=first,
        unclaimed=ticket.status == TicketStatus.NEW and ticket.owner_id is None,
        emergency=ticket.emergency,
    )


def ticket_brief(ticket_id: int) -> TicketBrief | None:
    """The ticket's subject, customer and first message; None if there is no such ticket."""
    # tickets.queries answers for a person (access_ticket); paging reads as the system.
    ticket = Ticket.objects.select_related("organization").filter(pk=ticket_id).first()
    if ticket is None:
        return None
    first = ticket.messages.order_by("id").values_list("body", flat=True).first() or ""
    return TicketBrief(
        id=ticket.pk,
        subject=ticket.subject,
        organization=ticket.organization.name if ticket.organization else "",
        first_message=first,
    )
