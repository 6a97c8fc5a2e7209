"""Daylight saving, checked by hand: follow-the-sun support keeps its local hours in UTC terms."""

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from askonce.oncall.rotation import (
    LayerSpec,
    ScheduleSpec,
    ShiftLength,
    ShiftUnit,
    final_shifts,
    layer_shifts,
    parse_restrictions,
    wall_clock_to_utc,
    who_is_on_call,
)

LA, LONDON = "America/Los_Angeles", "Europe/London"
BUSINESS_HOURS = parse_restrictions([{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}])
WEEKEND = parse_restrictions([{"days": [5, 6], "start": "00:00", "end": "24:00"}])


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def day_layer(
    key: int, name: str, zone: str, people: tuple[str, ...], **extra: object
) -> LayerSpec:
    settings: dict = {
        "key": key,
        "name": name,
        "priority": key,
        "time_zone": zone,
        "rotation_start": datetime(2026, 1, 5, 9, tzinfo=ZoneInfo(zone)),
        "shift_length": ShiftLength(1, ShiftUnit.DAYS),
        "handoff_time": time(9),
        "participants": people,
    }
    settings.update(extra)
    return LayerSpec(**settings)


WEEKEND_DUTY = day_layer(
    1,
    "Weekend ticket duty",
    LONDON,
    ("sam", "lena"),
    rotation_start=datetime(2026, 1, 3, tzinfo=ZoneInfo(LONDON)),
    shift_length=ShiftLength(1, ShiftUnit.WEEKS),
    handoff_time=time(0),
    restrictions=WEEKEND,
)
SAN_FRANCISCO = day_layer(2, "San Francisco", LA, ("sam",), restrictions=BUSINESS_HOURS)
LONDON_DAY = day_layer(3, "London", LONDON, ("lena",), restrictions=BUSINESS_HOURS)
SUPPORT = ScheduleSpec(layers=(WEEKEND_DUTY, SAN_FRANCISCO, LONDON_DAY))


def spans(shifts: list) -> list[tuple[str, str, str]]:
    return [(s.user, f"{s.start:%m-%d %H:%M}", f"{s.end:%m-%d %H:%M}") for s in shifts]


def final_day(day: str) -> list[tuple[str, str, str, str]]:
    shifts = final_shifts(SUPPORT, utc(f"{day}T00:00"), utc(f"{day}T00:00") + timedelta(days=1))
    return [(s.source.name, *span) for s, span in zip(shifts, spans(shifts), strict=True)]


def test_business_hours_before_either_change_in_march() -> None:
    """Friday 12 March 2027, both on standard time: London 09-17 UTC, San Francisco 17-01 UTC."""
    window = (utc("2027-03-12T00:00"), utc("2027-03-13T02:00"))
    assert spans(layer_shifts(LONDON_DAY, *window)) == [("lena", "03-12 09:00", "03-12 17:00")]
    assert spans(layer_shifts(SAN_FRANCISCO, *window)) == [
        ("sam", "03-12 00:00", "03-12 01:00"),  # Thursday's shift, running past midnight UTC
        ("sam", "03-12 17:00", "03-13 01:00"),
    ]


def test_us_changed_uk_not_yet_sam_starts_an_hour_earlier_in_utc() -> None:
    """15 March 2027: Sam's 09:00-17:00 is 16:00-00:00 UTC, Lena's still 09:00-17:00 UTC."""
    window = (utc("2027-03-15T00:00"), utc("2027-03-16T00:00"))
    assert spans(layer_shifts(SAN_FRANCISCO, *window)) == [("sam", "03-15 16:00", "03-16 00:00")]
    assert spans(layer_shifts(LONDON_DAY, *window)) == [("lena", "03-15 09:00", "03-15 17:00")]
    # The hour both are at work goes to London, the higher layer; nothing is lost or doubled.
    assert final_day("2027-03-15") == [
        ("London", "lena", "03-15 09:00", "03-15 17:00"),
        ("San Francisco", "sam", "03-15 17:00", "03-16 00:00"),
    ]
    assert who_is_on_call(SUPPORT, utc("2027-03-15T16:30")) == "lena"
    assert who_is_on_call(SUPPORT, utc("2027-03-15T08:59")) is None


def test_both_on_summer_time_the_handover_is_seamless() -> None:
    """29 March 2027: London 08-16 UTC, San Francisco 16-00 UTC, nobody in between or doubled."""
    assert final_day("2027-03-29") == [
        ("London", "lena", "03-29 08:00", "03-29 16:00"),
        ("San Francisco", "sam", "03-29 16:00", "03-30 00:00"),
    ]


def test_weekend_of_the_uk_change_is_47_hours() -> None:
    """Weekend 27-28 March 2027: from Saturday 00:00 GMT to Monday 00:00 BST (Sunday 23:00 UTC)."""
    shifts = final_shifts(SUPPORT, utc("2027-03-26T20:00"), utc("2027-03-29T12:00"))
    assert [(s.source.name, s.start, s.end) for s in shifts] == [
        ("San Francisco", utc("2027-03-26T20:00"), utc("2027-03-27T00:00")),
        ("Weekend ticket duty", utc("2027-03-27T00:00"), utc("2027-03-28T23:00")),
        ("London", utc("2027-03-29T08:00"), utc("2027-03-29T12:00")),
    ]


def test_weekend_of_the_us_change_starts_after_sams_friday() -> None:
    """Weekend 13-14 March 2027: Sam's Friday runs to 01:00 UTC Saturday, then weekend duty."""
    shifts = final_shifts(SUPPORT, utc("2027-03-12T20:00"), utc("2027-03-15T10:00"))
    assert [(s.source.name, s.start, s.end) for s in shifts] == [
        ("San Francisco", utc("2027-03-12T20:00"), utc("2027-03-13T01:00")),
        ("Weekend ticket duty", utc("2027-03-13T01:00"), utc("2027-03-15T00:00")),
        ("London", utc("2027-03-15T09:00"), utc("2027-03-15T10:00")),
    ]


def test_autumn_2026_uk_first_then_us() -> None:
    """October/November 2026: the UK falls back on the 25th, the US on 1 November."""
    assert final_day("2026-10-22") == [
        ("London", "lena", "10-22 08:00", "10-22 16:00"),
        ("San Francisco", "sam", "10-22 16:00", "10-23 00:00"),
    ]
    assert final_day("2026-10-26") == [
        ("London", "lena", "10-26 09:00", "10-26 17:00"),
        ("San Francisco", "sam", "10-26 17:00", "10-27 00:00"),
    ]
    assert spans(layer_shifts(SAN_FRANCISCO, utc("2026-10-26T00:00"), utc("2026-10-27T00:00"))) == [
        ("sam", "10-26 16:00", "10-27 00:00")
    ]
    assert final_day("2026-11-02") == [
        ("London", "lena", "11-02 09:00", "11-02 17:00"),
        ("San Francisco", "sam", "11-02 17:00", "11-03 00:00"),  # until 01:00 UTC
    ]


def test_autumn_weekends_2026() -> None:
    """24-25 October: 49 hours of weekend duty (Sam); 31 Oct-1 Nov: Lena, adjoining both days."""
    shifts = final_shifts(SUPPORT, utc("2026-10-23T20:00"), utc("2026-10-26T10:00"))
    assert [(s.source.name, s.user, s.start, s.end) for s in shifts] == [
        ("San Francisco", "sam", utc("2026-10-23T20:00"), utc("2026-10-24T00:00")),
        ("Weekend ticket duty", "sam", utc("2026-10-24T00:00"), utc("2026-10-26T00:00")),
        ("London", "lena", utc("2026-10-26T09:00"), utc("2026-10-26T10:00")),
    ]
    # The weekend layer itself starts at Saturday 00:00 BST, Friday 23:00 UTC; San Francisco is
    # higher and keeps Sam's Friday until 00:00 UTC.
    assert layer_shifts(WEEKEND_DUTY, utc("2026-10-23T00:00"), utc("2026-10-27T00:00"))[
        0
    ].start == (utc("2026-10-23T23:00"))
    shifts = final_shifts(SUPPORT, utc("2026-10-30T20:00"), utc("2026-11-02T10:00"))
    assert [(s.source.name, s.user, s.start, s.end) for s in shifts] == [
        ("San Francisco", "sam", utc("2026-10-30T20:00"), utc("2026-10-31T00:00")),
        ("Weekend ticket duty", "lena", utc("2026-10-31T00:00"), utc("2026-11-02T00:00")),
        ("London", "lena", utc("2026-11-02T09:00"), utc("2026-11-02T10:00")),
    ]


def test_daily_handoff_stays_at_nine_local_across_both_changes() -> None:
    """A 24-hour rotation handing over at 09:00 Los Angeles: 23 hours in March, 25 in November."""
    rotation = day_layer(1, "Daily", LA, ("ann", "bob"))
    zone = ZoneInfo(LA)
    for first, last, odd_length in [
        ("2027-03-10T17:00", "2027-03-18T16:00", timedelta(hours=23)),
        ("2026-10-28T16:00", "2026-11-05T17:00", timedelta(hours=25)),
    ]:
        shifts = layer_shifts(rotation, utc(first), utc(last))
        assert len(shifts) == 8
        assert all(s.start.astimezone(zone).time() == time(9) for s in shifts)
        assert shifts[-1].end.astimezone(zone).time() == time(9)
        assert {s.user for s in shifts} == {"ann", "bob"}
        assert all(a.user != b.user for a, b in pairwise(shifts))
        lengths = [s.duration for s in shifts]
        assert lengths.count(odd_length) == 1
        assert lengths.count(timedelta(hours=24)) == 7


def test_missing_handoff_time_is_read_with_the_old_offset() -> None:
    """Handoff 02:30 LA on 14 March 2027 (no such time): 10:30 UTC, a 24h then a 23h shift."""
    rotation = day_layer(1, "Night", LA, ("ann", "bob"), handoff_time=time(2, 30))
    shifts = layer_shifts(rotation, utc("2027-03-13T10:30"), utc("2027-03-15T09:30"))
    assert [(s.start, s.end) for s in shifts] == [
        (utc("2027-03-13T10:30"), utc("2027-03-14T10:30")),
        (utc("2027-03-14T10:30"), utc("2027-03-15T09:30")),
    ]
    assert wall_clock_to_utc(datetime(2027, 3, 14, 2, 30), ZoneInfo(LA)) == utc("2027-03-14T10:30")


def test_repeated_handoff_time_is_its_first_occurrence() -> None:
    """Handoff 01:30 LA on 1 November 2026 (happens twice): the first, 08:30 UTC; then 25 hours."""
    rotation = day_layer(1, "Night", LA, ("ann", "bob"), handoff_time=time(1, 30))
    shifts = layer_shifts(rotation, utc("2026-10-31T08:30"), utc("2026-11-02T09:30"))
    assert [(s.start, s.end) for s in shifts] == [
        (utc("2026-10-31T08:30"), utc("2026-11-01T08:30")),
        (utc("2026-11-01T08:30"), utc("2026-11-02T09:30")),
    ]


def test_hourly_rotation_through_the_missing_hour_leaves_no_gap() -> None:
    """One-hour turns in LA on 14 March 2027: the 02:00 turn has no length and is dropped."""
    rotation = day_layer(
        1,
        "Hourly",
        LA,
        ("ann", "bob", "cat"),
        rotation_start=datetime(2027, 3, 14, 0, tzinfo=ZoneInfo(LA)),
        handoff_time=time(0),
        shift_length=ShiftLength(1, ShiftUnit.HOURS),
    )
    shifts = layer_shifts(rotation, utc("2027-03-14T08:00"), utc("2027-03-14T12:00"))
    assert [(s.user, s.start, s.end) for s in shifts] == [
        ("ann", utc("2027-03-14T08:00"), utc("2027-03-14T09:00")),  # 00:00 PST
        ("bob", utc("2027-03-14T09:00"), utc("2027-03-14T10:00")),  # 01:00 PST
        # cat's turn, 02:00-03:00, does not exist on the wall clock
        ("ann", utc("2027-03-14T10:00"), utc("2027-03-14T11:00")),  # 03:00 PDT
        ("bob", utc("2027-03-14T11:00"), utc("2027-03-14T12:00")),
    ]


def test_restriction_is_wall_clock_on_both_sides_of_the_uk_change() -> None:
    """London 09:00-17:00 is 09-17 UTC on Friday 26 March 2027 and 08-16 UTC on Monday 29th."""
    shifts = layer_shifts(LONDON_DAY, utc("2027-03-26T00:00"), utc("2027-03-30T00:00"))
    assert [(s.start, s.end) for s in shifts] == [
        (utc("2027-03-26T09:00"), utc("2027-03-26T17:00")),
        (utc("2027-03-29T08:00"), utc("2027-03-29T16:00")),
    ]


def test_a_window_opening_just_after_a_missing_handoff_sees_the_outgoing_person() -> None:
    """Handoff 02:30 LA, 14 March 2027: at 03:10 PDT (10:10 UTC) the old turn still runs."""
    rotation = day_layer(1, "Night", LA, ("ann", "bob"), handoff_time=time(2, 30))
    before = layer_shifts(rotation, utc("2027-03-14T09:00"), utc("2027-03-14T11:00"))
    inside = layer_shifts(rotation, utc("2027-03-14T10:10"), utc("2027-03-14T11:00"))
    assert [(s.user, s.start) for s in before][-2:] == [
        (before[0].user, utc("2027-03-14T09:00")),
        (inside[-1].user, utc("2027-03-14T10:30")),
    ]
    assert inside[0].user == before[0].user
    assert inside[0].start == utc("2027-03-14T10:10")


def test_a_window_opening_in_the_repeated_hour_sees_the_incoming_person() -> None:
    """Handoff 01:30 LA, 1 November 2026: at 01:10 PST (09:10 UTC), after it, the new turn runs."""
    rotation = day_layer(1, "Night", LA, ("ann", "bob"), handoff_time=time(1, 30))
    around = layer_shifts(rotation, utc("2026-11-01T08:00"), utc("2026-11-01T10:00"))
    assert [s.start for s in around] == [utc("2026-11-01T08:00"), utc("2026-11-01T08:30")]
    inside = layer_shifts(rotation, utc("2026-11-01T09:10"), utc("2026-11-01T10:00"))
    assert [s.user for s in inside] == [around[1].user]


def test_a_rotation_starting_in_the_repeated_hour_starts_with_its_first_person() -> None:
    """Rotation from 01:10 PST on 1 November 2026 (the second 01:10): Ann first, then Bob."""
    rotation = day_layer(
        1,
        "Night",
        LA,
        ("ann", "bob"),
        rotation_start=utc("2026-11-01T09:10"),
        handoff_time=time(1, 30),
    )
    shifts = layer_shifts(rotation, utc("2026-11-01T00:00"), utc("2026-11-03T00:00"))
    assert [(s.user, s.start, s.end) for s in shifts] == [
        ("ann", utc("2026-11-01T09:10"), utc("2026-11-02T09:30")),
        ("bob", utc("2026-11-02T09:30"), utc("2026-11-03T00:00")),
    ]
