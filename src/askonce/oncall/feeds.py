"""Each person's calendar feed of their own shifts: the secret address a calendar app subscribes
to without a session, and turning it on, renewing it and turning it off.

The address is `<feed id>-<HMAC-SHA256 of (feed id, person, salt) with SECRET_KEY>`: the database
holds only the salt, so a copy of it does not give the addresses away; a new salt (renew) or no
row (off) ends the old address at once. Changing SECRET_KEY ends every address.
"""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from askonce.accounts.models import User
from askonce.core.events import record_event
from askonce.oncall.ical import person_calendar
from askonce.oncall.models import CalendarFeed
from askonce.oncall.queries import check_can_see_schedules, shifts_of

HMAC_SALT = "askonce.oncall.calendar-feed"
SIGNATURE_LENGTH = 40  # hex characters: 160 bits
FEED_PAST, FEED_AHEAD = timedelta(days=7), timedelta(days=90)
LAST_USED_EVERY = timedelta(minutes=5)


def _signature(feed: CalendarFeed) -> str:
    value = f"{feed.pk}:{feed.user_id}:{feed.salt}"
    return salted_hmac(HMAC_SALT, value, algorithm="sha256").hexdigest()[:SIGNATURE_LENGTH]


def feed_token(feed: CalendarFeed) -> str:
    return f"{feed.pk}-{_signature(feed)}"


def feed_url(feed: CalendarFeed) -> str:
    """The https (or http) address; calendar apps also take it with `webcal://` in front."""
    return f"{settings.BASE_URL}/oncall/calendar/{feed_token(feed)}.ics"


def webcal_url(feed: CalendarFeed) -> str:
    return "webcal://" + feed_url(feed).split("://", 1)[1]


def calendar_feed_of(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


def do_renew_calendar_feed(*, user: User) -> CalendarFeed:
    """Turn the person's feed on, or give it a new address (the old one stops working)."""
    check_can_see_schedules(user)
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        renewed = feed is not None
        if feed is None:
            feed = CalendarFeed(user=user)
        feed.salt = secrets.token_urlsafe(24)
        feed.created_at = timezone.now()
        feed.last_used_at = None
        feed.save()
        record_event(
            verb="oncall.calendar_feed_renewed" if renewed else "oncall.calendar_feed_created",
            subject_type="user",
            subject_id=user.pk,
            actor=user,
            note="calendar feed address " + ("renewed" if renewed else "created"),
        )
    return feed


def do_revoke_calendar_feed(*, user: User) -> bool:
    """Turn the person's feed off; False when it was off already."""
    with transaction.atomic():
        deleted, _ = CalendarFeed.objects.filter(user=user).delete()
        if deleted:
            record_event(
                verb="oncall.calendar_feed_revoked",
                subject_type="user",
                subject_id=user.pk,
                actor=user,
                note="calendar feed address turned off",
            )
    return bool(deleted)


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed an address stands for, if it is current and its owner may still see schedules."""
    number, _, signature = token.partition("-")
    if not (number.isascii() and number.isdigit() and len(number) < 19):
        return None
    feed = CalendarFeed.objects.select_related("user").filter(pk=int(number)).first()
    if feed is None or not constant_time_compare(signature, _signature(feed)):
        return None
    user = feed.user
    if not user.is_active or not user.is_staff_member:
        return None
    return feed


def do_record_feed_use(*, feed: CalendarFeed, now: datetime) -> None:
    # Calendar apps fetch often; a write at most every few minutes says the address is in use.
    if feed.last_used_at is None or now - feed.last_used_at > LAST_USED_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)


def feed_calendar(feed: CalendarFeed, now: datetime) -> bytes:
    """The owner's shifts from a week ago to 90 days on, as iCalendar."""
    person = feed.user
    shifts = shifts_of(person, now - FEED_PAST, now + FEED_AHEAD)
    return person_calendar(
        person=person,
        key=f"user-{person.pk}",
        shifts=[(shift.schedule.slug, shift.schedule.name, shift) for shift in shifts],
        stamp=now,
    )
