"""Shapes of schedules, layers, overrides, shifts, escalation policies and pages in the API
(django-ninja schemas)."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from askonce.accounts.models import User
from askonce.oncall.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTimer,
    Layer,
    Override,
    Page,
    RoutingKey,
    Schedule,
)
from askonce.oncall.queries import OnCall, PersonShift, TicketDuty, layer_people, policy_steps
from askonce.oncall.rotation import Shift


class RestrictionIn(Schema):
    days: list[int] = Field(..., description="Weekdays, 0 = Monday … 6 = Sunday.")
    start: str = Field(..., description="Local wall-clock time, e.g. `09:00`.")
    end: str = Field(..., description="`17:00`; at or before start means the next day; `24:00`.")


class LayerIn(Schema):
    name: str = Field(..., max_length=100)
    participants: list[str] = Field(..., description="Staff e-mail addresses, in rotation order.")
    rotation_start: datetime = Field(..., description="When the first participant goes on call.")
    shift_count: int = 1
    shift_unit: Literal["hours", "days", "weeks"] = "weeks"
    handoff_time: str = Field("09:00", description="Local wall-clock time of each handoff.")
    time_zone: str | None = Field(None, description="IANA zone; the schedule's when left out.")
    restrictions: list[RestrictionIn] = Field(
        default_factory=list, description="Weekly windows the layer is limited to; none = 24/7."
    )
    priority: int | None = Field(None, description="Higher layers win; on top when left out.")
    ticket_duty: bool = Field(
        False, description="While this layer covers, whoever is on call also watches new tickets."
    )


class LayerChangeIn(Schema):
    """Only the fields given change; the rotation is laid again from its start."""

    participants: list[str] | None = Field(None, description="Staff addresses, in order.")
    shift_count: int | None = None
    shift_unit: Literal["hours", "days", "weeks"] | None = None
    handoff_time: str | None = None
    time_zone: str | None = None
    restrictions: list[RestrictionIn] | None = Field(None, description="[] for around the clock.")
    ticket_duty: bool | None = None


class ScheduleIn(Schema):
    name: str = Field(..., max_length=100)
    team: str = Field(..., description="The team's slug, e.g. `support`.")
    time_zone: str = "UTC"
    slug: str | None = None
    layers: list[LayerIn] = Field(default_factory=list)


class OverrideIn(Schema):
    email: str = Field(..., description="Who is on call instead.")
    start: datetime
    end: datetime
    reason: str = ""


class ScheduleOut(Schema):
    id: int
    slug: str
    name: str
    team: str
    time_zone: str

    @staticmethod
    def resolve_team(obj: Schedule) -> str:
        return obj.team.slug


class RestrictionOut(Schema):
    days: list[int]
    start: str
    end: str


class LayerOut(Schema):
    id: int
    name: str
    priority: int
    time_zone: str
    rotation_start: datetime
    shift_count: int
    shift_unit: str
    handoff_time: str
    restrictions: list[RestrictionOut]
    participants: list[str]
    ticket_duty: bool

    @staticmethod
    def resolve_handoff_time(obj: Layer) -> str:
        return f"{obj.handoff_time:%H:%M}"

    @staticmethod
    def resolve_participants(obj: Layer) -> list[str]:
        return [person.email for person in layer_people(obj)]


class OverrideOut(Schema):
    id: int
    email: str
    name: str
    start: datetime
    end: datetime
    reason: str

    @staticmethod
    def resolve_email(obj: Override) -> str:
        return obj.user.email

    @staticmethod
    def resolve_name(obj: Override) -> str:
        return obj.user.display_name


class ScheduleDetailOut(ScheduleOut):
    layers: list[LayerOut]
    overrides: list[OverrideOut] = Field(..., description="Overrides that have not ended yet.")

    @staticmethod
    def resolve_layers(obj: Schedule) -> list[Layer]:
        return obj.layer_list  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def resolve_overrides(obj: Schedule) -> list[Override]:
        return obj.override_list  # type: ignore[attr-defined,no-any-return]


class ShiftOut(Schema):
    start: datetime
    end: datetime
    email: str
    name: str
    kind: Literal["layer", "override"]
    layer: str | None = Field(..., description="The layer's name; null for an override.")

    @staticmethod
    def from_shift(shift: Shift[User]) -> "ShiftOut":
        return ShiftOut(
            start=shift.start,
            end=shift.end,
            email=shift.user.email,
            name=shift.user.display_name,
            kind=shift.source.kind,
            layer=shift.source.name if shift.source.kind == "layer" else None,
        )


class ShiftsOut(Schema):
    schedule: str
    start: datetime
    end: datetime
    shifts: list[ShiftOut]


class OnCallPersonOut(Schema):
    email: str
    name: str
    kind: Literal["layer", "override"]
    layer: str | None = Field(..., description="The layer's name; null for an override.")
    since: datetime = Field(
        ..., description="When this person's duty began (at most 35 days back)."
    )
    until: datetime | None = Field(
        ..., description="When they hand over or nobody is on call; null: not within a year."
    )

    @staticmethod
    def from_on_call(found: OnCall) -> "OnCallPersonOut":
        return OnCallPersonOut(
            email=found.user.email,
            name=found.user.display_name,
            kind=found.source.kind,
            layer=found.source.name if found.source.kind == "layer" else None,
            since=found.since,
            until=found.until,
        )


class OnCallOut(Schema):
    schedule: str = Field(..., description="The schedule's slug.")
    at: datetime
    on_call: list[OnCallPersonOut] = Field(..., description="Empty when nobody is on call.")


class StepIn(Schema):
    """Exactly one of schedule, user or team."""

    schedule: str | None = Field(None, description="A schedule's slug: notify whoever is on call.")
    user: str | None = Field(None, description="A staff member's e-mail address.")
    team: str | None = Field(None, description="A team's slug: whoever is on call for it.")
    wait_minutes: int = Field(0, description="Minutes to wait before the next step.")


class PolicyIn(Schema):
    name: str = Field(..., max_length=100)
    team: str = Field(..., description="The team's slug, e.g. `support`.")
    slug: str | None = None
    repeat_count: int = Field(0, description="How often the steps run again after the last.")
    steps: list[StepIn]


class StepOut(Schema):
    position: int = Field(..., description="1 for the first step.")
    kind: Literal["schedule", "user", "team"]
    target: str = Field(..., description="The schedule's or team's slug, or the person's e-mail.")
    wait_minutes: int

    @staticmethod
    def from_step(step: EscalationStep) -> "StepOut":
        if step.schedule is not None:
            target = step.schedule.slug
        elif step.team is not None:
            target = step.team.slug
        else:
            target = step.user.email if step.user is not None else ""
        return StepOut(
            position=step.position + 1,
            kind=step.kind,  # type: ignore[arg-type]
            target=target,
            wait_minutes=step.wait_minutes,
        )


class PolicyOut(Schema):
    id: int
    slug: str
    name: str
    team: str
    repeat_count: int
    steps: list[StepOut]

    @staticmethod
    def resolve_team(obj: EscalationPolicy) -> str:
        return obj.team.slug

    @staticmethod
    def resolve_steps(obj: EscalationPolicy) -> list[StepOut]:
        return [StepOut.from_step(step) for step in policy_steps(obj)]


class RoutingKeyIn(Schema):
    name: str = Field(..., max_length=100, description="What sends with it: `prometheus`.")


class RoutingKeyOut(Schema):
    id: int
    name: str
    prefix: str
    policy: str
    routing_key: str = Field(..., description="Shown only now; only a hash is kept.")

    @staticmethod
    def resolve_policy(obj: RoutingKey) -> str:
        return obj.policy.slug

    @staticmethod
    def resolve_routing_key(obj: RoutingKey) -> str:
        return obj.secret  # type: ignore[attr-defined,no-any-return]


class PageIn(Schema):
    """Page a team (through its escalation policy) or a policy by its slug."""

    team: str | None = Field(None, description="A team's slug: page it through its policy.")
    policy: str | None = Field(None, description="An escalation policy's slug or id.")
    summary: str = Field(..., max_length=1024)
    details: str = ""
    dedup_key: str | None = Field(
        None, description="Triggers with the key of an open page count as repeats of it."
    )
    urgency: Literal["high", "low"] = "high"
    ticket_id: int | None = None


class TimerOut(Schema):
    round: int = Field(..., description="0 for the first pass through the steps.")
    step: int = Field(..., description="1 for the first step.")
    due_at: datetime
    status: str
    ran_at: datetime | None
    notified: list[str]
    note: str

    @staticmethod
    def resolve_step(obj: EscalationTimer) -> int:
        return obj.step_index + 1


class PageOut(Schema):
    id: int
    status: str
    urgency: str
    summary: str
    details: str
    source: str
    dedup_key: str
    trigger_count: int = Field(..., description="1, plus each repeat folded into this page.")
    team: str
    policy: str
    ticket_id: int | None
    created_at: datetime
    last_triggered_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    escalation: list[TimerOut] = Field(..., description="Each step run or due, in order.")

    @staticmethod
    def resolve_team(obj: Page) -> str:
        return obj.policy.team.slug

    @staticmethod
    def resolve_policy(obj: Page) -> str:
        return obj.policy.slug

    @staticmethod
    def resolve_acknowledged_by(obj: Page) -> str | None:
        return obj.acknowledged_by.email if obj.acknowledged_by else None

    @staticmethod
    def resolve_resolved_by(obj: Page) -> str | None:
        return obj.resolved_by.email if obj.resolved_by else None

    @staticmethod
    def resolve_escalation(obj: Page) -> list[EscalationTimer]:
        return list(obj.timers.all())  # ordered by round and step; prefetched for lists


class MyShiftOut(Schema):
    schedule: str = Field(..., description="The schedule's slug.")
    schedule_name: str
    team: str
    start: datetime = Field(..., description="When this stretch on call begins (or began).")
    end: datetime
    layers: list[str] = Field(..., description="Layer names, or `Override`, in order.")
    ticket_duty: bool = Field(..., description="Part of it is ticket duty.")

    @staticmethod
    def from_shift(shift: PersonShift) -> "MyShiftOut":
        return MyShiftOut(
            schedule=shift.schedule.slug,
            schedule_name=shift.schedule.name,
            team=shift.schedule.team.slug,
            start=shift.start,
            end=shift.end,
            layers=shift.labels,
            ticket_duty=shift.ticket_duty,
        )


class MyShiftsOut(Schema):
    email: str
    start: datetime
    end: datetime
    shifts: list[MyShiftOut]
    calendar_feed: str | None = Field(
        ..., description="Your secret iCalendar address, when turned on (POST .../calendar-feed)."
    )


class CalendarFeedOut(Schema):
    url: str = Field(..., description="Subscribe to this in a calendar app; it needs no session.")
    webcal_url: str


class TicketDutyOut(Schema):
    email: str
    name: str
    schedule: str
    until: datetime | None

    @staticmethod
    def from_duty(duty: TicketDuty, until: datetime | None) -> "TicketDutyOut":
        return TicketDutyOut(
            email=duty.user.email,
            name=duty.user.display_name,
            schedule=duty.schedule.slug,
            until=until,
        )
