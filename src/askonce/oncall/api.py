"""On-call endpoints of /api/v1: schedules, who is on call, shifts and the iCalendar feed.

A schedule is addressed by id or by slug (`/schedules/7` or `/schedules/support`).
"""

import re
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status

from askonce.accounts.models import User
from askonce.core.errors import InvalidInput
from askonce.oncall import actions, queries
from askonce.oncall.ical import shifts_calendar
from askonce.oncall.models import Layer, Override, Schedule
from askonce.oncall.schemas import (
    LayerIn,
    LayerOut,
    OnCallOut,
    OnCallPersonOut,
    OverrideIn,
    OverrideOut,
    ScheduleDetailOut,
    ScheduleIn,
    ScheduleOut,
    ShiftOut,
    ShiftsOut,
)
from askonce.teams.queries import team_by_slug

router = Router(tags=["on-call"])

DEFAULT_SHIFTS_WINDOW = timedelta(days=7)
CALENDAR_PAST, CALENDAR_AHEAD = timedelta(days=7), timedelta(days=90)
# In a query string an unencoded "+01:00" arrives as " 01:00"; put the plus sign back.
_SPACE_BEFORE_OFFSET = re.compile(r"(T[\d:.]+) (\d\d(:?\d\d)?)$")
AT = Query(None, description="An instant with an offset, `2027-03-15T09:00:00Z`; default now.")
START = Query(None, description="An instant with an offset; default now (ical: a week ago).")
END = Query(None, description="An instant with an offset; default a week on (ical: 90 days on).")


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _instant(value: str | None, *, name: str, default: datetime) -> datetime:
    if value is None or not value.strip():
        return default
    text = _SPACE_BEFORE_OFFSET.sub(r"\1+\2", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO 8601 date and time with an offset, e.g. "
            f"2027-03-15T09:00:00Z or 2027-03-15T10:00:00+01:00; got {value!r}."
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(
            f"{name} needs a time zone offset (e.g. 2027-03-15T09:00:00Z); got {value!r}."
        )
    return parsed.astimezone(UTC)


def _detail(schedule: Schedule) -> Schedule:
    schedule.layer_list = queries.schedule_layers(schedule)  # type: ignore[attr-defined]
    schedule.override_list = queries.current_overrides(schedule)  # type: ignore[attr-defined]
    return schedule


def _draft(layer: LayerIn) -> actions.LayerDraft:
    return actions.LayerDraft(
        name=layer.name,
        participants=queries.people_by_email(layer.participants),
        rotation_start=layer.rotation_start,
        shift_count=layer.shift_count,
        shift_unit=layer.shift_unit,
        handoff_time=layer.handoff_time,
        time_zone=layer.time_zone,
        restrictions=[restriction.dict() for restriction in layer.restrictions],
        priority=layer.priority,
    )


@router.get("/schedules", response=list[ScheduleOut], summary="List on-call schedules")
def list_schedules(request: HttpRequest) -> list[Schedule]:
    return list(queries.visible_schedules(_user(request)))


@router.post("/schedules", response={201: ScheduleDetailOut}, summary="Create a schedule")
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> Status:
    user = _user(request)
    queries.check_can_see_schedules(user)
    schedule = actions.do_create_schedule(
        team=team_by_slug(payload.team),
        name=payload.name,
        slug=payload.slug or "",
        time_zone=payload.time_zone,
        layers=[_draft(layer) for layer in payload.layers],
        actor=user,
    )
    return Status(201, _detail(schedule))


@router.get("/schedules/{schedule_id}", response=ScheduleDetailOut, summary="A schedule")
def get_schedule(request: HttpRequest, schedule_id: str) -> Schedule:
    return _detail(queries.access_schedule(_user(request), schedule_id))


@router.post("/schedules/{schedule_id}/layers", response={201: LayerOut}, summary="Add a layer")
def add_layer(request: HttpRequest, schedule_id: str, payload: LayerIn) -> Status:
    user = _user(request)
    schedule = queries.access_schedule(user, schedule_id)
    layer: Layer = actions.do_add_layer(
        schedule=schedule, actor=user, **_draft(payload).as_arguments()
    )
    return Status(201, layer)


@router.post(
    "/schedules/{schedule_id}/overrides", response={201: OverrideOut}, summary="Add an override"
)
def add_override(request: HttpRequest, schedule_id: str, payload: OverrideIn) -> Status:
    user = _user(request)
    override: Override = actions.do_add_override(
        schedule=queries.access_schedule(user, schedule_id),
        user=queries.people_by_email([payload.email])[0],
        start=payload.start,
        end=payload.end,
        reason=payload.reason,
        actor=user,
    )
    return Status(201, override)


@router.get("/schedules/{schedule_id}/oncall", response=OnCallOut, summary="Who is on call")
def on_call(request: HttpRequest, schedule_id: str, at: str | None = AT) -> OnCallOut:
    schedule = queries.access_schedule(_user(request), schedule_id)
    instant = _instant(at, name="at", default=timezone.now())
    found = queries.on_call_at(schedule, instant)
    return OnCallOut(
        schedule=schedule.slug,
        at=instant,
        on_call=[OnCallPersonOut.from_on_call(found)] if found is not None else [],
    )


@router.get("/schedules/{schedule_id}/shifts", response=ShiftsOut, summary="Final shifts")
def shifts(
    request: HttpRequest, schedule_id: str, start: str | None = START, end: str | None = END
) -> ShiftsOut:
    schedule = queries.access_schedule(_user(request), schedule_id)
    window_start = _instant(start, name="start", default=timezone.now())
    window_end = _instant(end, name="end", default=window_start + DEFAULT_SHIFTS_WINDOW)
    return ShiftsOut(
        schedule=schedule.slug,
        start=window_start,
        end=window_end,
        shifts=[
            ShiftOut.from_shift(shift)
            for shift in queries.final_shifts(schedule, window_start, window_end)
        ],
    )


@router.get("/schedules/{schedule_id}/ical", summary="The schedule as an iCalendar feed")
def calendar(
    request: HttpRequest, schedule_id: str, start: str | None = START, end: str | None = END
) -> HttpResponse:
    schedule = queries.access_schedule(_user(request), schedule_id)
    now = timezone.now()
    window_start = _instant(start, name="start", default=now - CALENDAR_PAST)
    window_end = _instant(end, name="end", default=now + CALENDAR_AHEAD)
    body = shifts_calendar(
        name=f"{schedule.name} on-call",
        key=f"schedule-{schedule.pk}",
        shifts=queries.final_shifts(schedule, window_start, window_end),
        stamp=now,
        description=f"Who of {schedule.team.name} is on call.",
    )
    answer = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    answer["Content-Disposition"] = f'inline; filename="{schedule.slug}.ics"'
    return answer
