"""Reads of on-call: schedules (who may see them, their shifts, who is on call, timelines to
draw), escalation policies, pages and routing keys."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
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


def people_by_email(emails: list[str]) -> list[User]:
    """The people with these addresses, in the same order; InvalidInput names any unknown one."""
    people = []
    for email in emails:
        person = user_by_email(email)
        if person is None:
            raise InvalidInput(f"Nobody has the address {email!r}.")
        people.append(person)
    return people


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
    if at.tzinfo is None:
        raise InvalidInput("at needs a time zone offset, e.g. 2027-03-15T09:00:00Z.")
    earliest, latest = at - SINCE_HORIZON, at + UNTIL_HORIZONS[-1]
    spec = ScheduleSpec(
        layers=tuple(layer_spec(layer) for layer in schedule_layers(schedule)),
        overrides=tuple(_override_specs(schedule, earliest, latest)),
    )
    behind = rotation.final_shifts(spec, earliest, at + timedelta(microseconds=1))
    if not behind or behind[-1].end <= at:
        return None
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
    found = on_call_at(schedule, at)
    return found.user if found is not None else None


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
