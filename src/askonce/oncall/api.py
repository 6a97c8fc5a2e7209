"""On-call endpoints of /api/v1: schedules, who is on call, shifts and the iCalendar feed;
editing layers and overrides; your own shifts and calendar feed; who is on ticket duty;
escalation policies and their routing keys; pages (trigger, list, acknowledge, resolve).

Schedules and policies are addressed by id or by slug (`/schedules/7`, `/schedules/support`).
"""

import re
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status

from askonce.accounts.models import User
from askonce.core.errors import InvalidInput
from askonce.oncall import actions, feeds, paging, queries, ticket_duty
from askonce.oncall.ical import shifts_calendar
from askonce.oncall.models import EscalationPolicy, Layer, Override, Page, Schedule
from askonce.oncall.schemas import (
    CalendarFeedOut,
    LayerChangeIn,
    LayerIn,
    LayerOut,
    MyShiftOut,
    MyShiftsOut,
    OnCallOut,
    OnCallPersonOut,
    OverrideIn,
    OverrideOut,
    PageIn,
    PageOut,
    PolicyIn,
    PolicyOut,
    RoutingKeyIn,
    RoutingKeyOut,
    ScheduleDetailOut,
    ScheduleIn,
    ScheduleOut,
    ShiftOut,
    ShiftsOut,
    StepIn,
    TicketDutyOut,
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
        ticket_duty=layer.ticket_duty,
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


@router.patch(
    "/schedules/{schedule_id}/layers/{layer_id}", response=LayerOut, summary="Change a layer"
)
def change_layer(
    request: HttpRequest, schedule_id: str, layer_id: int, payload: LayerChangeIn
) -> Layer:
    user = _user(request)
    schedule = queries.access_schedule(user, schedule_id)
    people = payload.participants
    restrictions = payload.restrictions
    return actions.do_edit_layer(
        layer=queries.schedule_layer(schedule, layer_id),
        actor=user,
        participants=queries.people_by_email(people) if people is not None else None,
        shift_count=payload.shift_count,
        shift_unit=payload.shift_unit,
        handoff_time=payload.handoff_time,
        time_zone=payload.time_zone,
        restrictions=[item.dict() for item in restrictions] if restrictions is not None else None,
        ticket_duty=payload.ticket_duty,
    )


@router.put(
    "/schedules/{schedule_id}/overrides/{override_id}",
    response=OverrideOut,
    summary="Change an override",
)
def change_override(
    request: HttpRequest, schedule_id: str, override_id: int, payload: OverrideIn
) -> Override:
    user = _user(request)
    schedule = queries.access_schedule(user, schedule_id)
    return actions.do_change_override(
        override=queries.schedule_override(schedule, override_id),
        user=queries.people_by_email([payload.email])[0],
        start=payload.start,
        end=payload.end,
        reason=payload.reason,
        actor=user,
    )


@router.delete(
    "/schedules/{schedule_id}/overrides/{override_id}",
    response={204: None},
    summary="Remove an override",
)
def remove_override(request: HttpRequest, schedule_id: str, override_id: int) -> Status:
    user = _user(request)
    schedule = queries.access_schedule(user, schedule_id)
    actions.do_remove_override(
        override=queries.schedule_override(schedule, override_id), actor=user
    )
    return Status(204, None)


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


# Your own shifts, and who is on ticket duty

DAYS = Query(14, description="How many days ahead, 1 to 90 (a shift under way is included).")


@router.get("/oncall/my-shifts", response=MyShiftsOut, summary="Your shifts in every schedule")
def my_shifts(request: HttpRequest, days: int = DAYS) -> MyShiftsOut:
    user = _user(request)
    now = timezone.now()
    shifts = queries.my_shifts(user, days=days, now=now)
    feed = feeds.calendar_feed_of(user)
    return MyShiftsOut(
        email=user.email,
        start=now,
        end=now + timedelta(days=days),
        shifts=[MyShiftOut.from_shift(shift) for shift in shifts],
        calendar_feed=feeds.feed_url(feed) if feed is not None else None,
    )


@router.post(
    "/oncall/my-shifts/calendar-feed",
    response={201: CalendarFeedOut},
    summary="Turn on your calendar feed, or give it a new address (the old one stops working)",
)
def renew_calendar_feed(request: HttpRequest) -> Status:
    feed = feeds.do_renew_calendar_feed(user=_user(request))
    return Status(201, CalendarFeedOut(url=feeds.feed_url(feed), webcal_url=feeds.webcal_url(feed)))


@router.delete(
    "/oncall/my-shifts/calendar-feed", response={204: None}, summary="Turn your calendar feed off"
)
def revoke_calendar_feed(request: HttpRequest) -> Status:
    feeds.do_revoke_calendar_feed(user=_user(request))
    return Status(204, None)


@router.get(
    "/oncall/ticket-duty", response=list[TicketDutyOut], summary="Who is on ticket duty now"
)
def on_ticket_duty(request: HttpRequest) -> list[TicketDutyOut]:
    queries.check_can_see_schedules(_user(request))
    return [TicketDutyOut.from_duty(duty, until) for duty, until in ticket_duty.duty_notice()]


# Escalation policies


def _step(user: User, step: StepIn) -> actions.StepDraft:
    given = [name for name in ("schedule", "user", "team") if getattr(step, name)]
    if len(given) != 1:
        raise InvalidInput(
            "Each step names exactly one of schedule, user or team; "
            f"got {', '.join(given) or 'none'}."
        )
    target: Schedule | User
    if step.schedule:
        target = queries.access_schedule(user, step.schedule)
    elif step.user:
        target = queries.people_by_email([step.user])[0]
    else:
        return actions.StepDraft(team_by_slug(step.team or ""), step.wait_minutes)
    return actions.StepDraft(target, step.wait_minutes)


@router.get("/escalation-policies", response=list[PolicyOut], summary="List escalation policies")
def list_policies(request: HttpRequest) -> list[EscalationPolicy]:
    return list(queries.visible_policies(_user(request)))


@router.post(
    "/escalation-policies", response={201: PolicyOut}, summary="Create an escalation policy"
)
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status:
    user = _user(request)
    queries.check_can_see_schedules(user)
    policy = actions.do_create_escalation_policy(
        team=team_by_slug(payload.team),
        name=payload.name,
        slug=payload.slug or "",
        repeat_count=payload.repeat_count,
        steps=[_step(user, step) for step in payload.steps],
        actor=user,
    )
    return Status(201, policy)


@router.get("/escalation-policies/{policy_id}", response=PolicyOut, summary="A policy")
def get_policy(request: HttpRequest, policy_id: str) -> EscalationPolicy:
    return queries.access_policy(_user(request), policy_id)


@router.post(
    "/escalation-policies/{policy_id}/routing-keys",
    response={201: RoutingKeyOut},
    summary="Create a routing key for monitoring tools (shown once)",
)
def create_routing_key(request: HttpRequest, policy_id: str, payload: RoutingKeyIn) -> Status:
    user = _user(request)
    row, secret = actions.do_create_routing_key(
        policy=queries.access_policy(user, policy_id), name=payload.name, actor=user
    )
    row.secret = secret  # type: ignore[attr-defined]
    return Status(201, row)


# Pages

PAGE_STATUS = Query("open", description="open (default), triggered, acknowledged, resolved, all")


def _policy_to_page(user: User, payload: PageIn) -> EscalationPolicy:
    if payload.policy:
        return queries.access_policy(user, payload.policy)
    if not payload.team:
        raise InvalidInput("Say whom to page: a team's slug (team) or a policy (policy).")
    team = team_by_slug(payload.team)
    policy = queries.policy_for_team(team)
    if policy is None:
        raise InvalidInput(
            f"{team.name} has no escalation policy, so nobody there can be paged. "
            "Create one first (POST /api/v1/escalation-policies)."
        )
    return policy


@router.post(
    "/pages",
    response={200: PageOut, 201: PageOut},
    summary="Page a team: 201 with a new page, 200 when the dedup key folds it into an open one",
)
def trigger_page(request: HttpRequest, payload: PageIn) -> Status:
    user = _user(request)
    queries.check_can_see_schedules(user)
    triggered = paging.do_trigger_page(
        policy=_policy_to_page(user, payload),
        summary=payload.summary,
        details=payload.details,
        dedup_key=payload.dedup_key or "",
        urgency=payload.urgency,
        ticket_id=payload.ticket_id,
        source="api",
        actor=user,
    )
    return Status(201 if triggered.created else 200, triggered.page)


@router.get("/pages", response=list[PageOut], summary="List pages, newest first")
def list_pages(
    request: HttpRequest, status: str = PAGE_STATUS, team: str | None = None, limit: int = 50
) -> list[Page]:
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500.")
    pages = queries.filter_pages(
        _user(request), status=status, team=team_by_slug(team) if team else None
    )
    return list(pages.prefetch_related("timers")[:limit])


@router.get("/pages/{page_id}", response=PageOut, summary="A page and its escalation")
def get_page(request: HttpRequest, page_id: int) -> Page:
    return queries.access_page(_user(request), page_id)


@router.post("/pages/{page_id}/ack", response=PageOut, summary="Acknowledge: stop escalating")
def acknowledge_page(request: HttpRequest, page_id: int) -> Page:
    user = _user(request)
    return paging.do_acknowledge_page(
        page=queries.access_page(user, page_id), actor=user, via="api"
    )


@router.post("/pages/{page_id}/resolve", response=PageOut, summary="Resolve")
def resolve_page(request: HttpRequest, page_id: int) -> Page:
    user = _user(request)
    return paging.do_resolve_page(page=queries.access_page(user, page_id), actor=user, via="api")
