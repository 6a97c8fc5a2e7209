"""Property tests: random layers, restrictions and overrides in zones with awkward clock changes.

Each shift list is checked against a slow, independent oracle that asks "who is on at this one
instant?" straight from the configuration, at every shift boundary and at random instants.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from askonce.oncall.ical import shifts_calendar
from askonce.oncall.rotation import (
    LayerSpec,
    OverrideSpec,
    ScheduleSpec,
    Shift,
    ShiftLength,
    ShiftUnit,
    WeeklyWindow,
    final_shifts,
    layer_shifts,
    who_is_on_call,
)

# Zones with one-hour, half-hour and midnight changes, Ramadan suspensions, and none at all.
ZONES = [
    "UTC",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Pacific/Chatham",
    "Africa/Casablanca",
    "Asia/Kolkata",
]
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Person:
    email: str
    display_name: str


PEOPLE = [Person(f"{name.lower()}@example.com", name) for name in ("Ann", "Bob", "Cat", "Dan")]


@dataclass(frozen=True)
class ClockChange:
    zone: str
    at: datetime  # the first instant of the new offset, UTC
    wall_times: tuple[time, ...]  # local times on either side of the change, 15 minutes apart


def _clock_changes() -> list[ClockChange]:
    """Every change of offset in ZONES from mid-2025 to mid-2028, found to the minute."""
    changes = []
    for name in ZONES:
        zone = ZoneInfo(name)
        day = datetime(2025, 6, 1, tzinfo=UTC)
        while day < datetime(2028, 6, 1, tzinfo=UTC):
            following = day + timedelta(days=1)
            if day.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
                before, after = day, following
                while after - before > timedelta(minutes=1):
                    middle = before + (after - before) / 2
                    same = middle.astimezone(zone).utcoffset() == day.astimezone(zone).utcoffset()
                    before, after = (middle, after) if same else (before, middle)
                after = after.replace(second=0, microsecond=0)
                old_offset = day.astimezone(zone).utcoffset() or timedelta(0)
                steps = [timedelta(minutes=15 * n) for n in range(-6, 7)]
                wall_times = {(after + step).astimezone(zone).time() for step in steps}
                wall_times |= {(after + old_offset + step).time() for step in steps}
                changes.append(ClockChange(name, after, tuple(sorted(wall_times))))
            day = following
    return changes


CLOCK_CHANGES = _clock_changes()

any_clock_time = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
any_instant = st.datetimes(
    min_value=datetime(2025, 6, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(second=0, microsecond=0))


@dataclass(frozen=True)
class Focus:
    """Where a random schedule is looked at, and the clock change (if any) to aim its rules at."""

    start: datetime
    end: datetime
    change: ClockChange | None


@st.composite
def focuses(draw: st.DrawFn) -> Focus:
    change = draw(
        st.one_of(st.none(), st.sampled_from(CLOCK_CHANGES), st.sampled_from(CLOCK_CHANGES))
    )
    if change is None:
        start = draw(any_instant)
    elif draw(st.booleans()):
        start = change.at + timedelta(minutes=15 * draw(st.integers(-8, 8)))  # within 2 hours
    else:
        start = change.at + timedelta(minutes=15 * draw(st.integers(-3 * 24 * 4, 2 * 4)))
    return Focus(start, start + timedelta(minutes=15 * draw(st.integers(4, 7 * 24 * 4))), change)


def _zone(draw: st.DrawFn, focus: Focus) -> str:
    if focus.change is not None and draw(st.booleans()):
        return focus.change.zone
    return draw(st.sampled_from(ZONES))


def _clock_time(draw: st.DrawFn, focus: Focus, zone: str) -> time:
    if focus.change is not None and focus.change.zone == zone and draw(st.booleans()):
        return draw(st.sampled_from(focus.change.wall_times))
    return draw(any_clock_time)


@st.composite
def shift_lengths(draw: st.DrawFn) -> ShiftLength:
    unit = draw(st.sampled_from(list(ShiftUnit)))
    most = {ShiftUnit.HOURS: 36, ShiftUnit.DAYS: 3, ShiftUnit.WEEKS: 2}[unit]
    return ShiftLength(draw(st.integers(1, most)), unit)


@st.composite
def restriction_windows(draw: st.DrawFn, *, focus: Focus, zone: str) -> WeeklyWindow:
    return WeeklyWindow(
        days=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        start=_clock_time(draw, focus, zone),
        end=_clock_time(draw, focus, zone),
    )


@st.composite
def layers(draw: st.DrawFn, *, key: int, priority: int, focus: Focus) -> LayerSpec[Person]:
    zone = _zone(draw, focus)
    lookback = draw(st.integers(-10 * 24 * 4, 2 * 24 * 4))
    return LayerSpec(
        key=key,
        name=f"Layer {key}",
        priority=priority,
        time_zone=zone,
        rotation_start=focus.start + timedelta(minutes=15 * lookback),
        shift_length=draw(shift_lengths()),
        handoff_time=_clock_time(draw, focus, zone),
        participants=tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4))),
        restrictions=tuple(draw(st.lists(restriction_windows(focus=focus, zone=zone), max_size=3))),
    )


@st.composite
def schedules(draw: st.DrawFn, *, focus: Focus) -> ScheduleSpec[Person]:
    count = draw(st.integers(1, 3))
    priorities = draw(st.permutations(range(1, count + 1)))
    overrides = []
    for key in range(1, draw(st.integers(0, 3)) + 1):
        start = focus.start + timedelta(minutes=15 * draw(st.integers(-2 * 24 * 4, 7 * 24 * 4)))
        length = timedelta(minutes=15 * draw(st.integers(1, 3 * 24 * 4)))
        overrides.append(OverrideSpec(key, draw(st.sampled_from(PEOPLE)), start, start + length))
    return ScheduleSpec(
        layers=tuple(
            draw(layers(key=key, priority=priority, focus=focus))
            for key, priority in enumerate(priorities, start=1)
        ),
        overrides=tuple(overrides),
    )


# ---------------------------------------------------------------------------------------------
# The oracle: one instant at a time, straight from the configuration.


def _resolve(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)  # fold=0


def _restriction_allows(layer: LayerSpec[Person], moment: datetime) -> bool:
    if not layer.restrictions:
        return True
    zone = ZoneInfo(layer.time_zone)
    today = moment.astimezone(zone).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        for window in layer.restrictions:
            if day.weekday() not in window.days:
                continue
            closing_day = day + timedelta(days=1) if window.end <= window.start else day
            opens = _resolve(day, window.start, zone)
            if opens <= moment < _resolve(closing_day, window.end, zone):
                return True
    return False


def layer_oracle(layer: LayerSpec[Person]) -> Callable[[datetime], Person | None]:
    zone = ZoneInfo(layer.time_zone)
    anchor = datetime.combine(layer.rotation_start.astimezone(zone).date(), layer.handoff_time)
    boundaries: dict[int, datetime] = {}

    def boundary(k: int) -> datetime:
        if k not in boundaries:
            boundaries[k] = (anchor + k * layer.shift_length.step).replace(tzinfo=zone)
            boundaries[k] = boundaries[k].astimezone(UTC)
        return boundaries[k]

    def turn(moment: datetime) -> int:
        k = 0
        while boundary(k) > moment:
            k -= 1
        while boundary(k + 1) <= moment:
            k += 1
        return k

    first = turn(layer.rotation_start)

    def on_call(moment: datetime) -> Person | None:
        if moment < layer.rotation_start or not _restriction_allows(layer, moment):
            return None
        return layer.participants[(turn(moment) - first) % len(layer.participants)]

    return on_call


def final_oracle(schedule: ScheduleSpec[Person]) -> Callable[[datetime], Person | None]:
    oracles = [(layer.priority, layer_oracle(layer)) for layer in schedule.layers]

    def on_call(moment: datetime) -> Person | None:
        overriding = [o for o in schedule.overrides if o.start <= moment < o.end]
        if overriding:
            return max(overriding, key=lambda o: o.key).user
        for _, oracle in sorted(oracles, key=lambda item: -item[0]):
            person = oracle(moment)
            if person is not None:
                return person
        return None

    return on_call


def _covering(shifts: list[Shift[Person]], moment: datetime) -> Person | None:
    found = [shift.user for shift in shifts if shift.start <= moment < shift.end]
    assert len(found) <= 1, f"{len(found)} people on call at {moment}"
    return found[0] if found else None


def _probes(shifts: list[Shift[Person]], start: datetime, end: datetime, picks: list[int]) -> list:
    """Every boundary, the instant just before it, and some instants anywhere in the window."""
    moments = {start, end - timedelta(microseconds=1)}
    for shift in shifts[:60]:
        moments |= {shift.start, shift.end - timedelta(microseconds=1), shift.end}
    span = (end - start).total_seconds()
    moments |= {start + timedelta(seconds=span * pick / 1000) for pick in picks}
    return sorted(moment for moment in moments if start <= moment < end)


def _check_well_formed(shifts: list[Shift[Person]], start: datetime, end: datetime) -> None:
    for shift in shifts:
        assert start <= shift.start < shift.end <= end
        assert shift.start.utcoffset() == timedelta(0)
    for before, after in pairwise(shifts):
        assert before.end <= after.start, "shifts overlap"
        touching_twins = before.end == after.start and (before.user, before.source) == (
            after.user,
            after.source,
        )
        assert not touching_twins, "adjacent identical shifts were not merged"


def _union(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in sorted(intervals):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


picks = st.lists(st.integers(0, 999), min_size=10, max_size=20)


@PROPERTY_SETTINGS
@given(data=st.data(), focus=focuses(), picks=picks)
def test_a_layer_has_one_person_or_nobody_at_every_instant(data, focus, picks) -> None:
    start, end = focus.start, focus.end
    layer = data.draw(layers(key=1, priority=1, focus=focus))
    shifts = layer_shifts(layer, start, end)
    _check_well_formed(shifts, start, end)
    oracle = layer_oracle(layer)
    for moment in _probes(shifts, start, end, picks):
        assert _covering(shifts, moment) == oracle(moment), moment


@PROPERTY_SETTINGS
@given(data=st.data(), focus=focuses(), picks=picks)
def test_final_schedule_is_the_winning_layer_or_override(data, focus, picks) -> None:
    start, end = focus.start, focus.end
    schedule = data.draw(schedules(focus=focus))
    shifts = final_shifts(schedule, start, end)
    _check_well_formed(shifts, start, end)

    # Coverage is exactly the union of what the layers cover and the overrides.
    covered = [
        (s.start, s.end) for layer in schedule.layers for s in layer_shifts(layer, start, end)
    ]
    covered += [(max(o.start, start), min(o.end, end)) for o in schedule.overrides]
    covered = [(opens, closes) for opens, closes in covered if opens < closes]
    assert _union([(s.start, s.end) for s in shifts]) == _union(covered)

    oracle = final_oracle(schedule)
    for moment in _probes(shifts, start, end, picks):
        assert _covering(shifts, moment) == oracle(moment), moment
    for moment in _probes(shifts, start, end, picks[:3]):
        assert who_is_on_call(schedule, moment) == oracle(moment)

    # An override always wins where it applies.
    for override in schedule.overrides:
        for shift in shifts:
            if shift.start < override.end and override.start < shift.end:
                assert shift.source.kind == "override"

    # A shorter window shows the same shifts, cut at its end.
    cut = start + (end - start) * picks[0] / 1000
    if cut > start:
        clipped = [
            Shift(s.start, min(s.end, cut), s.user, s.source) for s in shifts if s.start < cut
        ]
        assert final_shifts(schedule, start, cut) == clipped


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), focus=focuses())
def test_icalendar_round_trips_to_the_same_shifts(data, focus) -> None:
    start, end = focus.start, focus.end
    schedule = data.draw(schedules(focus=focus))
    shifts = final_shifts(schedule, start, end)
    stamp = datetime(2027, 1, 1, tzinfo=UTC)
    body = shifts_calendar(name="Random", key="random", shifts=shifts, stamp=stamp)

    parsed = Calendar.from_ical(body)
    events = sorted(parsed.events, key=lambda event: event.start)
    assert [
        (event.start, event.end, str(event.get("ATTENDEE")).removeprefix("mailto:"))
        for event in events
    ] == [(s.start, s.end, s.user.email) for s in shifts]
    assert [str(event.get("SUMMARY")) for event in events] == [
        f"On call: {s.user.display_name}" for s in shifts
    ]
    assert len({str(event.get("UID")) for event in events}) == len(events)
