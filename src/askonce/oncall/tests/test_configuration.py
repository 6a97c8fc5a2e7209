"""What people type into a layer: time zones, clock times and restriction windows."""

from datetime import time

import pytest

from askonce.core.errors import InvalidInput
from askonce.oncall.rotation import (
    ShiftLength,
    ShiftUnit,
    WeeklyWindow,
    check_time_zone,
    parse_clock_time,
    parse_restrictions,
)


def test_restrictions_read_and_write_the_same_json() -> None:
    raw = [
        {"days": [4, 0, 1, 2, 3], "start": "09:00", "end": "17:00"},
        {"days": [5, 6], "start": "00:00", "end": "24:00"},
        {"days": [6], "start": "22:00", "end": "06:00"},
    ]
    windows = parse_restrictions(raw)
    assert windows[0] == WeeklyWindow(frozenset({0, 1, 2, 3, 4}), time(9), time(17))
    assert not windows[0].ends_next_day
    assert windows[1].ends_next_day and windows[2].ends_next_day
    assert [window.as_json() for window in windows] == [
        {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
        {"days": [5, 6], "start": "00:00", "end": "24:00"},
        {"days": [6], "start": "22:00", "end": "06:00"},
    ]
    assert [str(window) for window in windows] == [
        "Mon,Tue,Wed,Thu,Fri 09:00-17:00",
        "Sat,Sun 00:00-24:00",
        "Sun 22:00-06:00",
    ]
    assert parse_restrictions(None) == parse_restrictions([]) == ()


@pytest.mark.parametrize(
    "raw, words",
    [
        ("weekdays", "must be a list"),
        (["Mon"], "restriction 1 must be an object"),
        ([{"days": [], "start": "09:00", "end": "17:00"}], "non-empty list of weekdays"),
        ([{"days": [True], "start": "09:00", "end": "17:00"}], "weekdays 0-6"),
        ([{"days": [1], "start": "24:00", "end": "17:00"}], "restriction 1: start must be"),
        ([{"days": [1], "start": "9:00", "end": "17:00"}], "like '09:00'"),
        ([{"days": [1], "start": "09:00", "end": "17:60"}], "restriction 1: end must be"),
    ],
)
def test_bad_restrictions_say_what_is_wrong(raw, words) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_restrictions(raw)


def test_time_zones_and_clock_times() -> None:
    assert check_time_zone(" Europe/London ").key == "Europe/London"
    assert check_time_zone("UTC").key == "UTC"
    for bad in ["", "Europe/Londn", "../etc/passwd", "/usr/share/zoneinfo/UTC"]:
        with pytest.raises(InvalidInput, match="Unknown time zone"):
            check_time_zone(bad)
    assert parse_clock_time("23:59", field_name="x") == time(23, 59)
    assert parse_clock_time(time(9, 30, 15), field_name="x") == time(9, 30)
    with pytest.raises(InvalidInput, match="handoff_time must be"):
        parse_clock_time("24:00", field_name="handoff_time")


def test_shift_lengths_read_naturally() -> None:
    assert str(ShiftLength(1, ShiftUnit.WEEKS)) == "1 week"
    assert str(ShiftLength(12, ShiftUnit.HOURS)) == "12 hours"
    assert ShiftLength(2, ShiftUnit.DAYS).step.days == 2
