"""Schedules and people's shifts as iCalendar (RFC 5545): one event per shift, times in UTC."""

from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class CalendarEntry:
    """One event. `uid` must stay the same across fetches so calendar apps update in place."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str
    attendees: Sequence[Person] = field(default_factory=tuple)


def _uid_time(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%SZ}"


def entries_calendar(
    *, name: str, key: str, entries: Sequence[CalendarEntry], stamp: datetime, description: str = ""
) -> bytes:
    calendar = Calendar.new(
        name=name,
        prodid=PRODUCT_ID,
        description=description or None,
        uid=f"{key}@askonce",
        refresh_interval=timedelta(hours=1),
    )
    for entry in entries:
        attendees = []
        for attendee in entry.attendees:
            address = vCalAddress(f"mailto:{attendee.email}")
            address.params["CN"] = attendee.display_name
            attendees.append(address)
        calendar.add_component(
            Event.new(
                uid=entry.uid,
                start=entry.start,
                end=entry.end,
                stamp=stamp,
                summary=entry.summary,
                description=entry.description,
                attendees=attendees,
            )
        )
    return bytes(calendar.to_ical())


def shifts_calendar[P: Person](
    *,
    name: str,
    key: str,
    shifts: Sequence[Shift[P]],
    stamp: datetime,
    description: str = "",
) -> bytes:
    """The calendar of `shifts`. Event ids are `<key>-<start>`, so a re-fetch updates in place."""
    entries = []
    for shift in shifts:
        where = "an override" if shift.source.kind == "override" else f"layer {shift.source.name}"
        entries.append(
            CalendarEntry(
                uid=f"{key}-{_uid_time(shift.start)}@askonce",
                start=shift.start,
                end=shift.end,
                summary=f"On call: {shift.user.display_name}",
                description=f"{shift.user.display_name} <{shift.user.email}> is on call ({where}).",
                attendees=[shift.user],
            )
        )
    return entries_calendar(
        name=name, key=key, entries=entries, stamp=stamp, description=description
    )


class Stretch(Protocol):
    """What a person's calendar needs of one of their shifts (queries.PersonShift)."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def labels(self) -> list[str]: ...

    @property
    def ticket_duty(self) -> bool: ...


def person_calendar(
    *, person: Person, key: str, shifts: Sequence[tuple[str, str, Stretch]], stamp: datetime
) -> bytes:
    """`person`'s shifts, given as (schedule slug, schedule name, shift); one event per shift.

    Event ids are `<key>-<schedule>-<start>`: two schedules may hand the same person a shift at
    the same instant, and a re-fetch must update each in place.
    """
    entries = []
    for slug, schedule_name, shift in shifts:
        duty = " + ticket duty" if shift.ticket_duty else ""
        entries.append(
            CalendarEntry(
                uid=f"{key}-{slug}-{_uid_time(shift.start)}@askonce",
                start=shift.start,
                end=shift.end,
                summary=f"On call: {schedule_name}{duty}",
                description=(
                    f"{person.display_name} is on call in {schedule_name} "
                    f"({', '.join(shift.labels)})."
                    + (" New tickets are mailed to you while on ticket duty." if duty else "")
                ),
                attendees=[person],
            )
        )
    return entries_calendar(
        name=f"My on-call shifts ({person.display_name})",
        key=key,
        entries=entries,
        stamp=stamp,
        description=f"Every on-call shift of {person.display_name} in AskOnce.",
    )
