"""Handoff notices: whoever comes on call hears about it shortly before their shift starts, by
mail and their own webhooks, once.

The worker runs `do_notify_shift_starts` every minute. A notice is a `ShiftNotice` row, unique
per (schedule, person, shift start), written in the same transaction as the queued mail: a
restarted worker, two workers, or a check repeated a second later never notify twice. A shift
is a stretch of one person on call in one schedule, whichever layers and overrides make it up
(Sam's weekend duty followed by Sam's Monday is one shift, one notice).
"""

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from askonce.accounts.models import User
from askonce.oncall import rotation
from askonce.oncall.models import Schedule, ShiftNotice
from askonce.oncall.notifications import notify_shift_start
from askonce.oncall.queries import (
    PersonShift,
    load_schedules,
    loaded_stretches,
    schedule_stretches,
)

logger = logging.getLogger(__name__)

# Told this long before the shift starts (the job runs every minute, so 15 to 14 minutes before).
LEAD = timedelta(minutes=15)
# A shift that started this recently still gets its notice (a worker that was down, an override
# added for the hour that just began); older starts are history, not news.
GRACE = timedelta(minutes=30)
# How far ahead the end of a starting shift is looked for; one running longer says this end.
END_HORIZON = timedelta(days=35)


def starting_shifts(
    now: datetime, *, lead: timedelta = LEAD, grace: timedelta = GRACE
) -> list[tuple[PersonShift, User | None]]:
    """Shifts that start within (now - grace, now + lead], each with whom they take over from.

    Every schedule is laid out over that short window only; the few with a start in it are
    laid out again up to END_HORIZON to learn when the new shift ends.
    """
    window_start, window_end = now - grace, now + lead + timedelta(microseconds=1)
    found = []
    schedules = list(Schedule.objects.select_related("team").order_by("id"))
    for loaded in load_schedules(schedules, window_start, window_end):
        near = loaded_stretches(loaded, window_start, window_end)
        # A stretch that begins at the window's edge was under way already.
        if not any(window_start < shift.start for shift in near):
            continue
        schedule = loaded.schedule
        previous: PersonShift | None = None
        for shift in schedule_stretches(
            schedule, window_start, window_end + END_HORIZON, lookback=False
        ):
            if window_start < shift.start < window_end:
                handing_over = (
                    previous.user if previous is not None and previous.end == shift.start else None
                )
                found.append((shift, handing_over))
            previous = shift
    return found


def do_notify_shift_starts(*, now: datetime | None = None) -> int:
    """Notify everyone whose shift starts soon (or just did) and has not been told; returns how
    many were notified."""
    now = now or timezone.now()
    told = 0
    for shift, handing_over in starting_shifts(now):
        person = shift.user
        if not person.is_active or not person.is_staff_member:
            continue
        try:
            with transaction.atomic():
                notice = ShiftNotice.objects.create(
                    schedule=shift.schedule,
                    user=person,
                    shift_start=shift.start,
                    shift_end=shift.end,
                    notified_at=now,
                )
                notice.methods = notify_shift_start(
                    person,
                    schedule_name=shift.schedule.name,
                    schedule_slug=shift.schedule.slug,
                    start=shift.start,
                    end=shift.end,
                    layers=[_label(source) for source in shift.sources],
                    handing_over=handing_over,
                    ticket_duty=shift.ticket_duty,
                )
                notice.save(update_fields=["methods"])
        except IntegrityError:
            continue  # told already
        told += 1
        logger.info(
            "told %s of their shift in %s from %s", person.email, shift.schedule.slug, shift.start
        )
    return told


def _label(source: rotation.Source) -> str:
    return "an override" if source.kind == "override" else f"layer {source.name}"
