"""Who is on call when: layers, restrictions and overrides turned into shifts, without a database.

Everything here works on plain dataclasses and aware datetimes, so it can be checked against
thousands of random schedules. Instants are compared in UTC; wall-clock rules (handoff times and
restriction windows) are evaluated in each layer's own zone with zoneinfo.

Daylight saving, decided once for every rule:
- Handoffs and restriction windows are wall-clock times: a daily handoff at 09:00 Los Angeles is
  at 09:00 Los Angeles on both sides of a change, so that shift lasts 23 or 25 hours.
- A wall time that happens twice (clocks go back) means its first occurrence, and one that does
  not exist (clocks go forward) is read with the offset in force before the change; both are
  Python's `fold=0`. One rule for every boundary means the end of one shift is always the start
  of the next: a change never opens a gap or doubles a shift. A wall-clock hour that does not
  exist can leave a shift with no length; such a shift is dropped, not stretched.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from heapq import heappop, heappush
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from askonce.core.errors import InvalidInput

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ShiftUnit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"


@dataclass(frozen=True)
class ShiftLength:
    count: int
    unit: ShiftUnit

    @property
    def step(self) -> timedelta:
        """The length on the wall clock: added to a naive local time, never to an instant."""
        return timedelta(**{self.unit.value: self.count})

    def __str__(self) -> str:
        unit = self.unit.value if self.count != 1 else self.unit.value.removesuffix("s")
        return f"{self.count} {unit}"


@dataclass(frozen=True)
class WeeklyWindow:
    """On these weekdays (0 = Monday) from `start` to `end`, wall-clock in the layer's zone.

    An `end` at or before `start` lies on the next day: 22:00-06:00 runs overnight, 00:00-00:00
    (written 00:00-24:00) is a whole day.
    """

    days: frozenset[int]
    start: time
    end: time

    @property
    def ends_next_day(self) -> bool:
        return self.end <= self.start

    def as_json(self) -> dict[str, Any]:
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        return {"days": sorted(self.days), "start": f"{self.start:%H:%M}", "end": end}

    def __str__(self) -> str:
        days = ",".join(WEEKDAY_NAMES[day] for day in sorted(self.days))
        json = self.as_json()
        return f"{days} {json['start']}-{json['end']}"


@dataclass(frozen=True)
class Source:
    """Where a shift comes from: one layer, or one override."""

    kind: Literal["layer", "override"]
    key: int
    name: str


@dataclass(frozen=True)
class LayerSpec[U]:
    """One rotation: participants take turns of `shift_length`, handing off at `handoff_time`.

    The turns are laid on a grid that starts at `handoff_time` on the local date of
    `rotation_start`; the first participant is on call at `rotation_start`, and the layer covers
    nothing before it.
    """

    key: int
    name: str
    priority: int
    time_zone: str
    rotation_start: datetime
    shift_length: ShiftLength
    handoff_time: time
    participants: tuple[U, ...]
    restrictions: tuple[WeeklyWindow, ...] = ()

    @property
    def source(self) -> Source:
        return Source("layer", self.key, self.name)


@dataclass(frozen=True)
class OverrideSpec[U]:
    key: int
    user: U
    start: datetime
    end: datetime
    reason: str = ""

    @property
    def source(self) -> Source:
        return Source("override", self.key, "Override")


@dataclass(frozen=True)
class ScheduleSpec[U]:
    layers: tuple[LayerSpec[U], ...]
    overrides: tuple[OverrideSpec[U], ...] = ()


@dataclass(frozen=True)
class Shift[U]:
    """`user` is on call from `start` (included) to `end` (excluded), both in UTC."""

    start: datetime
    end: datetime
    user: U
    source: Source

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


# ---------------------------------------------------------------------------------------------
# Checking what people configure


@cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(name: str) -> ZoneInfo:
    """The zone named `name` (an IANA name like `Europe/London`), or InvalidInput."""
    cleaned = (name or "").strip()
    if cleaned not in _known_time_zones() and cleaned != "UTC":
        raise InvalidInput(
            f"Unknown time zone {name!r}: use an IANA name like 'Europe/London' or "
            "'America/Los_Angeles'."
        )
    return ZoneInfo(cleaned)


def parse_clock_time(value: object, *, field_name: str, allow_midnight_end: bool = False) -> time:
    """`HH:MM` on a 24-hour clock; `24:00` only where it ends a window (the next midnight)."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    text = str(value).strip() if isinstance(value, str) else ""
    if allow_midnight_end and text == "24:00":
        return time(0)
    hours, _, minutes = text.partition(":")
    if len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit():
        if int(hours) < 24 and int(minutes) < 60:
            return time(int(hours), int(minutes))
    raise InvalidInput(f"{field_name} must be a time like '09:00' (24-hour clock), got {value!r}.")


def parse_restrictions(raw: object) -> tuple[WeeklyWindow, ...]:
    """Restriction windows from their JSON form: `[{"days": [0..6], "start": "09:00", ...}]`."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list | tuple):
        raise InvalidInput("restrictions must be a list of {days, start, end} windows.")
    windows = []
    for number, item in enumerate(raw, start=1):
        where = f"restriction {number}"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} must be an object with days, start and end.")
        days = item.get("days")
        if (
            not isinstance(days, list | tuple)
            or not days
            or not all(isinstance(day, int) and not isinstance(day, bool) for day in days)
            or not all(0 <= day <= 6 for day in days)
        ):
            raise InvalidInput(
                f"{where}: days must be a non-empty list of weekdays 0-6 (0 = Monday), "
                f"got {days!r}."
            )
        windows.append(
            WeeklyWindow(
                days=frozenset(days),
                start=parse_clock_time(item.get("start"), field_name=f"{where}: start"),
                end=parse_clock_time(
                    item.get("end"), field_name=f"{where}: end", allow_midnight_end=True
                ),
            )
        )
    return tuple(windows)


def parse_restriction_text(text: str) -> list[dict[str, Any]]:
    """Restriction windows written one per line, as the console shows them: `Mon-Fri 09:00-17:00`,
    `Sat,Sun 00:00-24:00`, `Mon,Wed-Fri 22:00-06:00`; blank text means around the clock.

    Returns the JSON form `parse_restrictions` checks, so both doors apply the same rules.
    """
    names = {name.lower(): number for number, name in enumerate(WEEKDAY_NAMES)}
    windows: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"restriction line {number} ({line!r})"
        days_part, _, hours = line.rpartition(" ")
        start, dash, end = hours.partition("-")
        if not days_part.strip() or not dash:
            raise InvalidInput(
                f"{where}: write days then hours, like 'Mon-Fri 09:00-17:00' or "
                "'Sat,Sun 00:00-24:00'."
            )
        days: set[int] = set()
        for item in days_part.replace(" ", "").split(","):
            first, _, last = item.partition("-")
            if first.lower() not in names or (last and last.lower() not in names):
                raise InvalidInput(
                    f"{where}: {item!r} is not a day; use {', '.join(WEEKDAY_NAMES)} "
                    "(a range like Mon-Fri, or a list like Sat,Sun)."
                )
            low, high = names[first.lower()], names[(last or first).lower()]
            if high < low:
                raise InvalidInput(f"{where}: the range {item!r} runs backwards; write it Mon-Fri.")
            days.update(range(low, high + 1))
        windows.append({"days": sorted(days), "start": start, "end": end})
    parse_restrictions(windows)
    return windows


def _days_text(days: frozenset[int]) -> str:
    """`Mon-Fri`, `Sat,Sun`, `Mon,Wed-Fri`: runs of three days or more as ranges."""
    parts: list[str] = []
    ordered = sorted(days)
    run_start = 0
    for index, day in enumerate(ordered):
        if index + 1 < len(ordered) and ordered[index + 1] == day + 1:
            continue
        run = ordered[run_start : index + 1]
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0]]}-{WEEKDAY_NAMES[run[-1]]}")
        else:
            parts.extend(WEEKDAY_NAMES[item] for item in run)
        run_start = index + 1
    return ",".join(parts)


def restriction_text(raw: object) -> str:
    """The JSON form as the lines `parse_restriction_text` reads back."""
    lines = []
    for window in parse_restrictions(raw):
        json = window.as_json()
        lines.append(f"{_days_text(window.days)} {json['start']}-{json['end']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Wall clock to instants


def wall_clock_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive local time names in `zone`; fold=0 for repeated and missing times."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} needs a time zone offset, e.g. 2027-03-15T09:00:00Z.")
    return value.astimezone(UTC)


class _Grid:
    """The handoff instants of one layer: boundary(k) starts turn k."""

    def __init__(self, layer: LayerSpec[Any]) -> None:
        self.zone = ZoneInfo(layer.time_zone)
        self.step = layer.shift_length.step
        start = _require_aware(layer.rotation_start, "rotation_start")
        self.anchor = datetime.combine(_local(start, self.zone).date(), layer.handoff_time)

    def boundary(self, k: int) -> datetime:
        return wall_clock_to_utc(self.anchor + k * self.step, self.zone)

    def index_at(self, instant: datetime) -> int:
        """The turn that holds `instant`: the last k whose boundary is at or before it."""
        k = (_local(instant, self.zone) - self.anchor) // self.step
        # The estimate works on wall clocks; near a change it can be one turn off either way.
        while self.boundary(k) > instant:
            k -= 1
        while self.boundary(k + 1) <= instant:
            k += 1
        return k


def restriction_intervals(
    layer: LayerSpec[Any], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The instants in [start, end) when the layer's restrictions let it be on call, merged."""
    if not layer.restrictions:
        return [(start, end)] if start < end else []
    zone = ZoneInfo(layer.time_zone)
    first_day = _local(start, zone).date() - timedelta(days=1)
    last_day = _local(end, zone).date() + timedelta(days=1)
    intervals = []
    day = first_day
    while day <= last_day:
        for window in layer.restrictions:
            if day.weekday() not in window.days:
                continue
            opens = wall_clock_to_utc(datetime.combine(day, window.start), zone)
            closing_day = day + timedelta(days=1) if window.ends_next_day else day
            closes = wall_clock_to_utc(datetime.combine(closing_day, window.end), zone)
            opens, closes = max(opens, start), min(closes, end)
            if opens < closes:
                intervals.append((opens, closes))
        day += timedelta(days=1)
    return _union(intervals)


def union_of(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The intervals sorted, overlapping and touching ones joined."""
    return _union(intervals)


def _union(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in sorted(intervals):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def _rotation_turns[U](layer: LayerSpec[U], start: datetime, end: datetime) -> Iterator[Shift[U]]:
    """The layer's turns within [start, end), ignoring restrictions."""
    grid = _Grid(layer)
    start = max(start, _require_aware(layer.rotation_start, "rotation_start"))
    if start >= end or not layer.participants:
        return
    first_turn = grid.index_at(layer.rotation_start.astimezone(UTC))
    k = grid.index_at(start)
    turn_start = start
    while turn_start < end:
        turn_end = min(grid.boundary(k + 1), end)
        if turn_end > turn_start:
            user = layer.participants[(k - first_turn) % len(layer.participants)]
            yield Shift(turn_start, turn_end, user, layer.source)
            turn_start = turn_end
        k += 1


def layer_shifts[U](layer: LayerSpec[U], start: datetime, end: datetime) -> list[Shift[U]]:
    """Who the layer puts on call within [start, end): sorted, never overlapping, merged."""
    start, end = _require_aware(start, "start"), _require_aware(end, "end")
    allowed = restriction_intervals(layer, start, end)
    shifts: list[Shift[U]] = []
    if not allowed:
        return shifts
    window = 0
    for turn in _rotation_turns(layer, allowed[0][0], allowed[-1][1]):
        while window < len(allowed) and allowed[window][1] <= turn.start:
            window += 1
        probe = window
        while probe < len(allowed) and allowed[probe][0] < turn.end:
            opens = max(turn.start, allowed[probe][0])
            closes = min(turn.end, allowed[probe][1])
            if opens < closes:
                shifts.append(Shift(opens, closes, turn.user, turn.source))
            probe += 1
    return merge_adjacent(shifts)


def merge_adjacent[U](shifts: Sequence[Shift[U]]) -> list[Shift[U]]:
    """Join a shift to the one before it when they touch and have the same person and source."""
    merged: list[Shift[U]] = []
    for shift in shifts:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.end == shift.start
            and last.user == shift.user
            and last.source == shift.source
        ):
            merged[-1] = Shift(last.start, shift.end, last.user, last.source)
        else:
            merged.append(shift)
    return merged


def override_shifts[U](
    overrides: Iterable[OverrideSpec[U]], start: datetime, end: datetime
) -> list[Shift[U]]:
    shifts = []
    for override in overrides:
        opens = max(_require_aware(override.start, "start"), start)
        closes = min(_require_aware(override.end, "end"), end)
        if opens < closes:
            shifts.append(Shift(opens, closes, override.user, override.source))
    return sorted(shifts, key=lambda shift: (shift.start, shift.end, shift.source.key))


def _rank(source: Source, priority: int) -> tuple[int, int, int]:
    # Overrides beat every layer, and the newest override beats older ones; among layers the
    # higher priority wins (priorities are unique per schedule; the key only breaks ties).
    if source.kind == "override":
        return (1, 0, source.key)
    return (0, priority, -source.key)


def final_shifts[U](schedule: ScheduleSpec[U], start: datetime, end: datetime) -> list[Shift[U]]:
    """The schedule within [start, end): layers by priority, overrides on top, no overlaps."""
    start, end = _require_aware(start, "start"), _require_aware(end, "end")
    if start >= end:
        return []
    candidates: list[tuple[Shift[U], tuple[int, int, int]]] = []
    for layer in schedule.layers:
        rank = _rank(layer.source, layer.priority)
        candidates.extend((shift, rank) for shift in layer_shifts(layer, start, end))
    for shift in override_shifts(schedule.overrides, start, end):
        candidates.append((shift, _rank(shift.source, 0)))
    return merge_adjacent(_paint(candidates))


def _paint[U](candidates: list[tuple[Shift[U], tuple[int, int, int]]]) -> list[Shift[U]]:
    """Sweep the boundaries; between two of them the highest-ranked open candidate is on call."""
    candidates.sort(key=lambda item: item[0].start)
    points = sorted({shift.start for shift, _ in candidates} | {s.end for s, _ in candidates})
    active: list[tuple[tuple[int, int, int], int]] = []  # (negated rank, index): a max-heap
    result: list[Shift[U]] = []
    following = 0
    for opens, closes in pairwise(points):
        while following < len(candidates) and candidates[following][0].start <= opens:
            rank = candidates[following][1]
            heappush(active, ((-rank[0], -rank[1], -rank[2]), following))
            following += 1
        while active and candidates[active[0][1]][0].end <= opens:
            heappop(active)
        if active:
            winner = candidates[active[0][1]][0]
            result.append(Shift(opens, closes, winner.user, winner.source))
    return result


def who_is_on_call[U](schedule: ScheduleSpec[U], at: datetime) -> U | None:
    """The person on call at the instant `at`, or None when nobody is."""
    at = _require_aware(at, "at")
    shifts = final_shifts(schedule, at, at + timedelta(microseconds=1))
    return shifts[0].user if shifts else None
