"""The demo schedules: follow-the-sun support with weekend duty, one rotation per other team."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from askonce.console.demo import load_demo_data
from askonce.core.models import Event
from askonce.oncall.demo import load_oncall_demo
from askonce.oncall.models import Layer, LayerParticipant, Schedule
from askonce.oncall.queries import (
    final_shifts,
    on_call_at,
    schedule_by_slug,
    timeline,
    who_is_on_call,
)

pytestmark = pytest.mark.django_db

LONDON, LOS_ANGELES = ZoneInfo("Europe/London"), ZoneInfo("America/Los_Angeles")


@pytest.fixture
def demo() -> None:
    """`askonce demo` loads the on-call demo with the rest; loading it again adds nothing."""
    assert load_demo_data() is True
    assert Schedule.objects.filter(slug="support").exists()


def _on_call(slug: str, at: datetime) -> str | None:
    schedule = schedule_by_slug(slug)
    assert schedule is not None
    person = who_is_on_call(schedule, at)
    return person.email if person is not None else None


def test_loading_twice_changes_nothing(demo) -> None:
    counts = (Schedule.objects.count(), Layer.objects.count(), LayerParticipant.objects.count())
    events = Event.objects.count()
    assert load_oncall_demo() is False
    assert counts == (6, 8, 9)
    assert (
        Schedule.objects.count(),
        Layer.objects.count(),
        LayerParticipant.objects.count(),
    ) == counts
    assert Event.objects.count() == events


# Tuesdays in summer, between the two autumn changes, in winter, between the two spring ones.
TUESDAYS = ["2026-07-14", "2026-10-27", "2026-11-03", "2027-01-12", "2027-03-16", "2027-03-30"]


def test_weekday_business_hours_follow_the_sun(demo) -> None:
    """At 10:00 on a Tuesday, London time Lena is on call; San Francisco time, Sam is."""
    for tuesday in TUESDAYS:
        day = datetime.fromisoformat(tuesday)
        assert _on_call("support", day.replace(hour=10, tzinfo=LONDON)) == "lena@example.com"
        assert _on_call("support", day.replace(hour=10, tzinfo=LOS_ANGELES)) == "sam@example.com"
        assert _on_call("support", day.replace(hour=3, tzinfo=LONDON)) is None, tuesday


def test_weekends_alternate_between_sam_and_lena(demo) -> None:
    """Each weekend one of the two has ticket duty, all Saturday and Sunday, then the other."""
    saturday = datetime(2027, 3, 13, 12, tzinfo=LONDON)
    first = _on_call("support", saturday)
    assert first in {"sam@example.com", "lena@example.com"}
    assert _on_call("support", saturday + timedelta(days=1, hours=8)) == first
    following = _on_call("support", saturday + timedelta(days=7))
    assert {first, following} == {"sam@example.com", "lena@example.com"}
    found = on_call_at(schedule_by_slug("support"), saturday)  # type: ignore[arg-type]
    assert found is not None and found.source.name == "Weekend ticket duty"


def test_every_other_team_has_someone_on_call_around_the_clock(demo) -> None:
    for team, email in [
        ("ops", "omar@example.com"),
        ("neteng", "nina@example.com"),
        ("finance", "fiona@example.com"),
        ("legal", "leo@example.com"),
        ("engineering", "eve@example.com"),
    ]:
        for at in ["2026-12-25T03:00:00+00:00", "2027-03-14T10:30:00+00:00", "2027-07-04T22:00Z"]:
            assert _on_call(team, datetime.fromisoformat(at)) == email


def test_timeline_has_a_row_per_layer_then_overrides_then_the_result(demo) -> None:
    """The schedule page's rows for a week: three layers, overrides, the final schedule."""
    schedule = schedule_by_slug("support")
    assert schedule is not None
    start = datetime(2027, 3, 15, tzinfo=LONDON)
    drawn = timeline(schedule, start, start + timedelta(days=7))
    assert [(row.kind, row.label) for row in drawn.rows] == [
        ("layer", "London"),
        ("layer", "San Francisco"),
        ("layer", "Weekend ticket duty"),
        ("overrides", "Overrides"),
        ("final", "Final schedule"),
    ]
    assert [len(row.shifts) for row in drawn.rows[:2]] == [5, 5]
    assert drawn.rows[-1].shifts == final_shifts(schedule, start, start + timedelta(days=7))
