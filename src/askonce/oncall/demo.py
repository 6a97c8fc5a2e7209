"""Demo schedules for the README's tour: follow-the-sun support, one rotation per other team.

Call after `askonce.console.demo.load_demo_data()` has created the people; safe to run again.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction

from askonce.accounts.models import User
from askonce.accounts.queries import user_by_email
from askonce.core.errors import NotFound
from askonce.oncall.actions import LayerDraft, do_create_schedule
from askonce.oncall.models import Schedule
from askonce.teams.queries import team_by_slug

WEEKDAYS = [0, 1, 2, 3, 4]
WEEKEND = [5, 6]
SUPPORT_ZONE = "Europe/London"

# (team slug, who is on call, their zone): a week at a time, handing over Mondays 09:00.
TEAM_ROTATIONS = [
    ("ops", "omar@example.com", "America/New_York"),
    ("neteng", "nina@example.com", "Europe/Berlin"),
    ("finance", "fiona@example.com", "Europe/Dublin"),
    ("legal", "leo@example.com", "America/Chicago"),
    ("engineering", "eve@example.com", "Asia/Tokyo"),
]


def _local(year: int, month: int, day: int, hour: int, zone: str) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo(zone))


def _people(*emails: str) -> list[User] | None:
    people = [user_by_email(email) for email in emails]
    return None if None in people else [person for person in people if person is not None]


def _support_layers(sam: User, lena: User) -> list[LayerDraft]:
    business_hours = [{"days": WEEKDAYS, "start": "09:00", "end": "17:00"}]
    return [
        # Lowest: one of the two covers the whole (London) weekend, alternating weekly.
        LayerDraft(
            name="Weekend ticket duty",
            participants=[sam, lena],
            rotation_start=_local(2026, 1, 3, 0, SUPPORT_ZONE),  # a Saturday
            shift_count=1,
            shift_unit="weeks",
            handoff_time="00:00",
            time_zone=SUPPORT_ZONE,
            restrictions=[{"days": WEEKEND, "start": "00:00", "end": "24:00"}],
            priority=1,
            # Whoever has the weekend also watches new tickets: they are mailed to them.
            ticket_duty=True,
        ),
        LayerDraft(
            name="San Francisco",
            participants=[sam],
            rotation_start=_local(2026, 1, 5, 9, "America/Los_Angeles"),
            shift_count=1,
            shift_unit="days",
            handoff_time="09:00",
            time_zone="America/Los_Angeles",
            restrictions=business_hours,
            priority=2,
        ),
        # On top: in the weeks when only one side has changed its clocks the two business days
        # overlap by an hour, and London finishes its day.
        LayerDraft(
            name="London",
            participants=[lena],
            rotation_start=_local(2026, 1, 5, 9, "Europe/London"),
            shift_count=1,
            shift_unit="days",
            handoff_time="09:00",
            time_zone="Europe/London",
            restrictions=business_hours,
            priority=3,
        ),
    ]


def load_oncall_demo() -> bool:
    """Create whichever demo schedules are missing; returns True when anything was created."""
    created = False
    with transaction.atomic():
        people = _people("sam@example.com", "lena@example.com")
        if people is not None and not Schedule.objects.filter(slug="support").exists():
            do_create_schedule(
                team=team_by_slug("support"),
                name="Support",
                slug="support",
                time_zone=SUPPORT_ZONE,
                layers=_support_layers(*people),
                actor=None,
            )
            created = True
        for team_slug, email, zone in TEAM_ROTATIONS:
            rotation = _people(email)
            if rotation is None or Schedule.objects.filter(slug=team_slug).exists():
                continue
            try:
                team = team_by_slug(team_slug)
            except NotFound:
                continue
            do_create_schedule(
                team=team,
                name=f"{team.name} on-call",
                slug=team_slug,
                time_zone=zone,
                layers=[
                    LayerDraft(
                        name="Primary",
                        participants=rotation,
                        rotation_start=_local(2026, 1, 5, 9, zone),  # a Monday
                        shift_count=1,
                        shift_unit="weeks",
                        handoff_time="09:00",
                        time_zone=zone,
                    )
                ],
                actor=None,
            )
            created = True
    return created
