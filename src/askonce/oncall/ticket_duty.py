"""Ticket duty (DESIGN §5: weekend ticket duty is a layer): who is on it now, for the console's
notice, and telling them about each new unclaimed ticket, once.

Who is on duty now is asked on every console page and for every new ticket, so it is kept per
process for a minute (and dropped at once when this process changes a schedule); a minute-old
answer in another process is the price of not querying schedules on every request.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from askonce.core.cache import TimedCache
from askonce.core.models import Event
from askonce.oncall.models import TicketDutyNotice
from askonce.oncall.notifications import notify_new_ticket
from askonce.oncall.queries import TicketDuty, new_ticket, ticket_duty_between

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
# How far ahead the cached answer is laid out, so a notice can say until when duty runs; and
# back, since a new ticket's event is a moment old when its subscriber asks.
LOOKAHEAD = timedelta(days=8)
LOOKBACK = timedelta(minutes=5)
# How far back the worker looks for new tickets whose notice never went out (a crash after the
# ticket's commit, a process stopped between commit and subscriber).
UNHANDLED_WINDOW = timedelta(hours=1)
CREATED_VERB = "ticket.created"


@dataclass(frozen=True)
class _Laid:
    computed_at: datetime
    start: datetime
    end: datetime
    duties: list[TicketDuty]


_cache: TimedCache[_Laid] = TimedCache(CACHE_SECONDS, max_entries=1)
_KEY = "ticket-duty"


def forget_ticket_duty() -> None:
    """A schedule changed in this process: the next question recomputes."""
    _cache.forget(_KEY)


def _laid_out(now: datetime) -> _Laid:
    def load() -> _Laid:
        start, end = now - LOOKBACK, now + LOOKAHEAD
        return _Laid(now, start, end, ticket_duty_between(start, end))

    laid = _cache.get(_KEY, load)
    assert laid is not None
    # The clock is Django's idea of now (tests move it); the cache's own timer is not.
    if not laid.computed_at <= now < laid.computed_at + timedelta(seconds=CACHE_SECONDS):
        _cache.forget(_KEY)
        laid = _cache.get(_KEY, load)
        assert laid is not None
    return laid


def on_ticket_duty(at: datetime | None = None) -> list[TicketDuty]:
    """Who is on ticket duty at `at` (default now): usually nobody, or one person."""
    now = timezone.now()
    at = at or now
    laid = _laid_out(now)
    if not laid.start <= at < laid.end:
        moment = timedelta(microseconds=1)
        laid = _Laid(now, at, at + moment, ticket_duty_between(at, at + moment))
    return [duty for duty in laid.duties if duty.start <= at < duty.end]


def duty_notice() -> list[tuple[TicketDuty, datetime | None]]:
    """Who is on ticket duty now, each with when it ends (None: past the next eight days)."""
    now = timezone.now()
    laid = _laid_out(now)
    return [
        (duty, None if duty.end >= laid.end else duty.end)
        for duty in laid.duties
        if duty.start <= now < duty.end
    ]


def do_notify_ticket_duty(*, ticket_id: int, filed_at: datetime) -> list[TicketDutyNotice]:
    """Tell whoever was on ticket duty when the ticket was filed, if it is still unclaimed."""
    duties = on_ticket_duty(filed_at)
    return _notify(ticket_id, duties) if duties else []


def _notify(ticket_id: int, duties: list[TicketDuty]) -> list[TicketDutyNotice]:
    """One row per (ticket, person) under a unique constraint, written in the notice's own
    transaction: a repeated event or a second worker never mails twice."""
    ticket = new_ticket(ticket_id)
    # An emergency pages the schedule's on-call person already (the same person at weekends).
    if ticket is None or not ticket.unclaimed or ticket.emergency:
        return []
    notices = []
    for duty in duties:
        try:
            with transaction.atomic():
                notice = TicketDutyNotice.objects.create(
                    ticket_id=ticket.id, user=duty.user, schedule=duty.schedule
                )
                notify_new_ticket(
                    duty.user,
                    ticket_id=ticket.id,
                    subject=ticket.subject,
                    organization=ticket.organization,
                    requester=ticket.requester,
                    first_message=ticket.first_message,
                    schedule_name=duty.schedule.name,
                )
        except IntegrityError:
            continue  # told already (the event ran twice, or the sweep and the subscriber met)
        logger.info("ticket #%d: told %s (ticket duty)", ticket.id, duty.user.email)
        notices.append(notice)
    return notices


def do_notify_ticket_duty_for_unhandled() -> int:
    """The worker's sweep: new tickets of the last hour, filed during ticket duty, whose notice
    never went out. Costs one schedule look-up while nobody was on ticket duty in that hour."""
    now = timezone.now()
    sent = 0
    for duty in ticket_duty_between(now - UNHANDLED_WINDOW, now):
        told = TicketDutyNotice.objects.filter(user=duty.user).values("ticket_id")
        filed = (
            Event.objects.filter(
                verb=CREATED_VERB,
                subject_type="ticket",
                occurred_at__gte=duty.start,
                occurred_at__lt=duty.end,
            )
            .exclude(subject_id__in=told)
            .order_by("id")
            .values_list("subject_id", flat=True)
        )
        for ticket_id in list(filed):
            sent += len(_notify(ticket_id, [duty]))
    return sent
