"""On-call pages of the agent console: who is on call, a schedule's timeline with its layers
and overrides (and forms to change them), and each person's own shifts with their calendar feed.

Views stay thin: parse the form, call one query or action, render or redirect. A refused change
shows the form again with the values as typed and the reason, and changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from askonce.accounts.models import User
from askonce.console.views import staff_required
from askonce.core.errors import DomainError, InvalidInput, NotFound
from askonce.oncall import actions, feeds
from askonce.oncall import queries as oncall_queries
from askonce.oncall.models import Layer, Override, Schedule
from askonce.oncall.rotation import (
    ShiftLength,
    ShiftUnit,
    check_time_zone,
    parse_restriction_text,
    restriction_text,
    wall_clock_to_utc,
)

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows


def _me(request: HttpRequest) -> User:
    return cast(User, request.user)


def _hue(email: str) -> int:
    return sum(email.encode()) * 47 % 360


def _schedule(request: HttpRequest, slug: str) -> Schedule:
    try:
        return oncall_queries.access_schedule(_me(request), slug)
    except NotFound as error:
        raise Http404(error.message) from error


def _zone_of(person: User) -> str:
    try:
        return check_time_zone(person.time_zone).key
    except InvalidInput:
        return "UTC"


@staff_required
def schedule_list(request: HttpRequest) -> HttpResponse:
    schedules = list(oncall_queries.visible_schedules(_me(request)).select_related("team"))
    duties = oncall_queries.on_call_in(schedules, timezone.now())
    rows = [{"schedule": schedule, "duty": duties[schedule.pk]} for schedule in schedules]
    return render(request, "console/schedules.html", {"rows": rows})


@staff_required
def schedule_detail(request: HttpRequest, slug: str) -> HttpResponse:
    schedule = _schedule(request, slug)
    try:
        days = min(28, max(1, int(request.GET.get("days", 7))))
    except ValueError:
        days = 7
    me = _me(request)
    now = timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    end = start + timedelta(days=days)
    span = (end - start).total_seconds()
    timeline = oncall_queries.timeline(schedule, start, end)
    rows = []
    for row in timeline.rows:
        bars = []
        for shift in row.shifts:
            left = max(0.0, (shift.start - start).total_seconds() / span * 100)
            right = min(100.0, (shift.end - start).total_seconds() / span * 100)
            bars.append(
                {
                    "shift": shift,
                    "left": f"{left:.3f}",
                    "width": f"{max(right - left, 0.2):.3f}",
                    "hue": _hue(shift.user.email),
                }
            )
        rows.append({"row": row, "bars": bars})
    ticks = [
        {"at": start + timedelta(days=d), "left": f"{(d * 86400) / span * 100:.3f}"}
        for d in range(days + 1)
    ]
    layers = [
        {
            "layer": layer,
            "people": oncall_queries.layer_people(layer),
            "shift": str(ShiftLength(layer.shift_count, ShiftUnit(layer.shift_unit))),
            "restrictions": restriction_text(layer.restrictions).replace("\n", "; "),
        }
        for layer in oncall_queries.schedule_layers(schedule)
    ]
    return render(
        request,
        "console/schedule.html",
        {
            "schedule": schedule,
            "rows": rows,
            "ticks": ticks,
            "now_left": f"{(now - start).total_seconds() / span * 100:.3f}",
            "duty": oncall_queries.on_call_at(schedule, now),
            "days": days,
            "start": start,
            "end": end,
            "layers": layers,
            "overrides": oncall_queries.current_overrides(schedule, now),
            "form": _override_values(None, me),
            "people": oncall_queries.on_call_candidates(me),
        },
    )


# Overrides


@dataclass(frozen=True)
class _OverrideForm:
    user: User
    start: datetime
    end: datetime
    reason: str


def _local_input(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime(LOCAL_INPUT)


def _override_values(override: Override | None, me: User) -> dict[str, str]:
    """The form's fields as the person sees them: times on their own clock."""
    zone = _zone_of(me)
    if override is None:
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return {
            "email": "",
            "start": _local_input(start, zone),
            "end": _local_input(start + timedelta(hours=8), zone),
            "time_zone": zone,
            "reason": "",
        }
    return {
        "email": override.user.email,
        "start": _local_input(override.start, zone),
        "end": _local_input(override.end, zone),
        "time_zone": zone,
        "reason": override.reason,
    }


def _parse_local(value: str, zone: ZoneInfo, name: str) -> datetime:
    try:
        local = datetime.strptime(value.strip(), LOCAL_INPUT)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date and time like 2027-03-15T09:00; got {value!r}."
        ) from None
    return wall_clock_to_utc(local, zone)


def _parse_override(values: dict[str, str]) -> _OverrideForm:
    zone = check_time_zone(values["time_zone"])
    email = values["email"].strip()
    if not email:
        raise InvalidInput("Say who is on call instead: a staff member's e-mail address.")
    return _OverrideForm(
        user=oncall_queries.people_by_email([email])[0],
        start=_parse_local(values["start"], zone, "From"),
        end=_parse_local(values["end"], zone, "To"),
        reason=values["reason"],
    )


def _posted(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in names}


OVERRIDE_FIELDS = ("email", "start", "end", "time_zone", "reason")


def _override_form_page(
    request: HttpRequest,
    schedule: Schedule,
    override: Override | None,
    values: dict[str, str],
    error: DomainError | None = None,
) -> HttpResponse:
    answer = render(
        request,
        "console/schedule_override_form.html",
        {
            "schedule": schedule,
            "override": override,
            "form": values,
            "error": error.message if error is not None else "",
            "people": oncall_queries.on_call_candidates(_me(request)),
        },
    )
    if error is not None:
        answer.status_code = error.status_code  # 422 for bad input, 403 for someone else's
    return answer


@staff_required
def override_new(request: HttpRequest, slug: str) -> HttpResponse:
    schedule = _schedule(request, slug)
    me = _me(request)
    if request.method != "POST":
        return _override_form_page(request, schedule, None, _override_values(None, me))
    values = _posted(request, *OVERRIDE_FIELDS)
    try:
        form = _parse_override(values)
        actions.do_add_override(
            schedule=schedule,
            user=form.user,
            start=form.start,
            end=form.end,
            reason=form.reason,
            actor=me,
        )
    except DomainError as error:
        return _override_form_page(request, schedule, None, values, error)
    messages.success(request, f"Override added: {form.user.display_name} is on call then.")
    return redirect("schedule", slug=schedule.slug)


@staff_required
def override_edit(request: HttpRequest, slug: str, override_id: int) -> HttpResponse:
    schedule = _schedule(request, slug)
    me = _me(request)
    try:
        override = oncall_queries.schedule_override(schedule, override_id)
    except NotFound as error:
        raise Http404(error.message) from error
    if request.method != "POST":
        return _override_form_page(request, schedule, override, _override_values(override, me))
    values = _posted(request, *OVERRIDE_FIELDS)
    try:
        form = _parse_override(values)
        actions.do_change_override(
            override=override,
            user=form.user,
            start=form.start,
            end=form.end,
            reason=form.reason,
            actor=me,
        )
    except DomainError as error:
        return _override_form_page(request, schedule, override, values, error)
    messages.success(request, "Override changed.")
    return redirect("schedule", slug=schedule.slug)


@staff_required
@require_POST
def override_remove(request: HttpRequest, slug: str, override_id: int) -> HttpResponse:
    schedule = _schedule(request, slug)
    try:
        override = oncall_queries.schedule_override(schedule, override_id)
        actions.do_remove_override(override=override, actor=_me(request))
    except NotFound as error:
        raise Http404(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Override removed: the layers decide for those hours again.")
    return redirect("schedule", slug=schedule.slug)


# Layers

LAYER_FIELDS = (
    "participants",
    "shift_count",
    "shift_unit",
    "handoff_time",
    "time_zone",
    "restrictions",
)


def _layer_values(layer: Layer) -> dict[str, Any]:
    return {
        "participants": "\n".join(person.email for person in oncall_queries.layer_people(layer)),
        "shift_count": str(layer.shift_count),
        "shift_unit": layer.shift_unit,
        "handoff_time": f"{layer.handoff_time:%H:%M}",
        "time_zone": layer.time_zone,
        "restrictions": restriction_text(layer.restrictions),
        "ticket_duty": layer.ticket_duty,
    }


def _layer_form_page(
    request: HttpRequest, layer: Layer, values: dict[str, Any], error: DomainError | None = None
) -> HttpResponse:
    answer = render(
        request,
        "console/schedule_layer_form.html",
        {
            "schedule": layer.schedule,
            "layer": layer,
            "form": values,
            "error": error.message if error is not None else "",
            "units": [unit.value for unit in ShiftUnit],
        },
    )
    if error is not None:
        answer.status_code = error.status_code
    return answer


def _shift_count(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"Shift length must be a whole number; got {text!r}.") from None


@staff_required
def layer_edit(request: HttpRequest, slug: str, layer_id: int) -> HttpResponse:
    schedule = _schedule(request, slug)
    try:
        layer = oncall_queries.schedule_layer(schedule, layer_id)
    except NotFound as error:
        raise Http404(error.message) from error
    if request.method != "POST":
        return _layer_form_page(request, layer, _layer_values(layer))
    values: dict[str, Any] = _posted(request, *LAYER_FIELDS)
    values["ticket_duty"] = bool(request.POST.get("ticket_duty"))
    emails = [line.strip() for line in values["participants"].splitlines() if line.strip()]
    try:
        actions.do_edit_layer(
            layer=layer,
            actor=_me(request),
            participants=oncall_queries.people_by_email(emails),
            shift_count=_shift_count(values["shift_count"]),
            shift_unit=values["shift_unit"],
            handoff_time=values["handoff_time"],
            time_zone=values["time_zone"],
            restrictions=parse_restriction_text(values["restrictions"]),
            ticket_duty=values["ticket_duty"],
        )
    except DomainError as error:
        return _layer_form_page(request, layer, values, error)
    messages.success(request, f"Layer {layer.name} changed.")
    return redirect("schedule", slug=schedule.slug)


# My shifts

MY_SHIFTS_DAYS = 28


@staff_required
def my_shifts(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    try:
        days = min(oncall_queries.MAX_MY_SHIFTS_DAYS, max(1, int(request.GET.get("days", 28))))
    except ValueError:
        days = MY_SHIFTS_DAYS
    feed = feeds.calendar_feed_of(me)
    return render(
        request,
        "console/schedule_my_shifts.html",
        {
            "shifts": oncall_queries.my_shifts(me, days=days),
            "days": days,
            "feed": feed,
            "feed_url": feeds.feed_url(feed) if feed is not None else "",
            "webcal_url": feeds.webcal_url(feed) if feed is not None else "",
            "now": timezone.now(),
        },
    )


@staff_required
@require_POST
def calendar_feed_renew(request: HttpRequest) -> HttpResponse:
    had_one = feeds.calendar_feed_of(_me(request)) is not None
    feeds.do_renew_calendar_feed(user=_me(request))
    messages.success(
        request,
        "New calendar address: the old one no longer works; subscribe again with this one."
        if had_one
        else "Calendar address created: subscribe to it in your calendar app.",
    )
    return redirect("my-shifts")


@staff_required
@require_POST
def calendar_feed_revoke(request: HttpRequest) -> HttpResponse:
    if feeds.do_revoke_calendar_feed(user=_me(request)):
        messages.success(request, "Calendar address turned off: calendars using it get nothing.")
    return redirect("my-shifts")
