"""Schedules as iCalendar (RFC 5545): one event per final shift, times in UTC."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from icalendar import Calendar, Event, vCalAddress

from askonce.oncall.rotation import Shift

PRODUCT_ID = "-//AskOnce//On-call schedules//EN"


class Person(Protocol):
    @property
    def email(self) -> str: ...

    @property
    def display_name(self) -> str: ...


def shifts_calendar[P: Person](
    *,
    name: str,
    key: str,
    shifts: Sequence[Shift[P]],
    stamp: datetime,
    description: str = "",
) -> bytes:
    """The calendar of `shifts`. Event ids are `<key>-<start>`, so a re-fetch updates in place."""
    calendar = Calendar.new(
        name=name,
        prodid=PRODUCT_ID,
        description=description or None,
        uid=f"{key}@askonce",
        refresh_interval=timedelta(hours=1),
    )
    for shift in shifts:
        person = vCalAddress(f"mailto:{shift.user.email}")
        person.params["CN"] = shift.user.display_name
        where = "an override" if shift.source.kind == "override" else f"layer {shift.source.name}"
        calendar.add_component(
            Event.new(
                uid=f"{key}-{shift.start:%Y%m%dT%H%M%SZ}@askonce",
                start=shift.start,
                end=shift.end,
                stamp=stamp,
                summary=f"On call: {shift.user.display_name}",
                description=f"{shift.user.display_name} <{shift.user.email}> is on call ({where}).",
                attendees=[person],
            )
        )
    return bytes(calendar.to_ical())
