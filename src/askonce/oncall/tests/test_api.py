"""The on-call API: schedules, who is on call, final shifts and the iCalendar feed."""

from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from askonce.core.models import Event
from askonce.oncall.models import Layer, Override, Schedule

pytestmark = pytest.mark.django_db

WEEKDAYS_9_TO_5 = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]


@pytest.fixture
def people(make_staff):
    return {
        "sam": make_staff("support", email="sam@example.com", name="Sam Rivera"),
        "lena": make_staff("support", email="lena@example.com", name="Lena Fischer"),
    }


@pytest.fixture
def agent(api_as, people):
    return api_as(people["sam"])


def follow_the_sun() -> dict:
    return {
        "name": "Support",
        "team": "support",
        "time_zone": "Europe/London",
        "layers": [
            {
                "name": "San Francisco",
                "participants": ["sam@example.com"],
                "rotation_start": "2026-01-05T09:00:00-08:00",
                "shift_count": 1,
                "shift_unit": "days",
                "handoff_time": "09:00",
                "time_zone": "America/Los_Angeles",
                "restrictions": WEEKDAYS_9_TO_5,
            },
            {
                "name": "London",
                "participants": ["lena@example.com"],
                "rotation_start": "2026-01-05T09:00:00Z",
                "shift_count": 1,
                "shift_unit": "days",
                "time_zone": "Europe/London",
                "restrictions": WEEKDAYS_9_TO_5,
            },
        ],
    }


@pytest.fixture
def schedule(agent) -> dict:
    answer = agent.post("/schedules", follow_the_sun())
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_staff_create_a_schedule_and_read_it_back(agent, schedule) -> None:
    """An agent posts a follow-the-sun schedule and sees its layers, newest on top."""
    assert schedule["slug"] == "support"
    assert schedule["team"] == "support"
    assert [layer["name"] for layer in schedule["layers"]] == ["London", "San Francisco"]
    london = schedule["layers"][0]
    assert london["priority"] == 2
    assert london["participants"] == ["lena@example.com"]
    assert london["handoff_time"] == "09:00"
    assert london["restrictions"] == WEEKDAYS_9_TO_5
    assert london["time_zone"] == "Europe/London"

    assert [s["slug"] for s in agent.get("/schedules").json()] == ["support"]
    by_id = agent.get(f"/schedules/{schedule['id']}").json()
    assert by_id == agent.get("/schedules/support").json()
    assert Event.objects.filter(verb="oncall.schedule_created").count() == 1
    assert Event.objects.filter(verb="oncall.layer_added", subject_id=schedule["id"]).count() == 2


def test_on_call_names_the_person_by_email(agent, schedule) -> None:
    """Asking who is on call on a Monday in March 2027 names Lena, then Sam, then nobody."""
    path = f"/schedules/{schedule['id']}/oncall"
    morning = agent.get(path, at="2027-03-15T10:00:00Z").json()
    assert morning["schedule"] == "support"
    assert morning["at"] == "2027-03-15T10:00:00Z"
    assert morning["on_call"] == [
        {
            "email": "lena@example.com",
            "name": "Lena Fischer",
            "kind": "layer",
            "layer": "London",
            "since": "2027-03-15T09:00:00Z",
            "until": "2027-03-15T17:00:00Z",
        }
    ]
    evening = agent.get(path, at="2027-03-15T18:00:00+00:00").json()["on_call"]
    assert [(p["email"], p["layer"], p["until"]) for p in evening] == [
        ("sam@example.com", "San Francisco", "2027-03-16T00:00:00Z")
    ]
    assert agent.get(path, at="2027-03-16T03:00:00Z").json()["on_call"] == []


def test_an_unencoded_plus_in_the_offset_still_works(agent, schedule) -> None:
    """`?at=...+01:00` typed into a browser arrives with a space; the answer is the same."""
    answer = agent.client.get("/api/v1/schedules/support/oncall?at=2027-06-15T11:00:00+01:00")
    assert answer.status_code == 200, answer.content
    assert answer.json()["at"] == "2027-06-15T10:00:00Z"
    assert answer.json()["on_call"][0]["email"] == "lena@example.com"


@pytest.mark.parametrize(
    "value, words",
    [
        ("yesterday", "ISO 8601"),
        ("2027-03-15T10:00:00", "time zone offset"),
        ("2027-02-30T10:00:00Z", "ISO 8601"),
    ],
)
def test_a_bad_at_is_422_with_a_clear_message(agent, schedule, value, words) -> None:
    answer = agent.get(f"/schedules/{schedule['id']}/oncall", at=value)
    assert answer.status_code == 422
    assert words in answer.json()["detail"]
    assert "at" in answer.json()["detail"]


def test_an_override_wins_over_the_layers(agent, people, schedule) -> None:
    """Sam covers Lena's Tuesday morning: the on-call answer and the shifts both say so."""
    answer = agent.post(
        f"/schedules/{schedule['id']}/overrides",
        {
            "email": "sam@example.com",
            "start": "2027-03-16T09:00:00Z",
            "end": "2027-03-16T12:00:00Z",
            "reason": "Lena at the dentist",
        },
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["email"] == "sam@example.com"
    on_call = agent.get("/schedules/support/oncall", at="2027-03-16T10:00:00Z").json()["on_call"]
    assert [(p["email"], p["kind"], p["layer"], p["until"]) for p in on_call] == [
        ("sam@example.com", "override", None, "2027-03-16T12:00:00Z")
    ]
    shifts = agent.get(
        "/schedules/support/shifts", start="2027-03-16T00:00:00Z", end="2027-03-17T00:00:00Z"
    ).json()["shifts"]
    assert [(s["email"], s["kind"], s["start"], s["end"]) for s in shifts] == [
        ("sam@example.com", "override", "2027-03-16T09:00:00Z", "2027-03-16T12:00:00Z"),
        ("lena@example.com", "layer", "2027-03-16T12:00:00Z", "2027-03-16T17:00:00Z"),
        ("sam@example.com", "layer", "2027-03-16T17:00:00Z", "2027-03-17T00:00:00Z"),
    ]
    detail = agent.get("/schedules/support").json()
    assert [o["reason"] for o in detail["overrides"]] == ["Lena at the dentist"]


def test_shift_windows_are_checked(agent, schedule) -> None:
    path = "/schedules/support/shifts"
    backwards = agent.get(path, start="2027-03-16T00:00:00Z", end="2027-03-15T00:00:00Z")
    assert backwards.status_code == 422
    assert "end must be after start" in backwards.json()["detail"]
    too_long = agent.get(path, start="2027-01-01T00:00:00Z", end="2029-01-01T00:00:00Z")
    assert too_long.status_code == 422
    assert "366 days" in too_long.json()["detail"]


def test_the_ical_feed_holds_the_same_shifts(agent, schedule) -> None:
    """Subscribing to the feed shows the shifts the API lists, in UTC, one event each."""
    window = {"start": "2027-03-10T00:00:00Z", "end": "2027-04-05T00:00:00Z"}
    answer = agent.get("/schedules/support/ical", **window)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/calendar")
    events = sorted(Calendar.from_ical(answer.content).events, key=lambda e: e.start)
    listed = agent.get("/schedules/support/shifts", **window).json()["shifts"]
    assert len(events) == len(listed) > 30
    assert [(e.start, e.end, str(e.get("ATTENDEE")).removeprefix("mailto:")) for e in events] == [
        (
            datetime.fromisoformat(s["start"]).astimezone(UTC),
            datetime.fromisoformat(s["end"]).astimezone(UTC),
            s["email"],
        )
        for s in listed
    ]


def test_contacts_are_refused_everywhere(api_as, make_contact, schedule) -> None:
    """A customer asking for schedules gets 403 on every on-call path, reads and writes."""
    contact = api_as(make_contact())
    for path in ["/schedules", "/schedules/support", "/schedules/support/oncall"]:
        answer = contact.get(path)
        assert answer.status_code == 403, path
        assert "staff" in answer.json()["detail"]
    for path in ["/schedules/support/shifts", "/schedules/support/ical"]:
        assert contact.get(path).status_code == 403, path
    assert contact.post("/schedules", follow_the_sun()).status_code == 403
    override = {
        "email": "sam@example.com",
        "start": "2027-01-01T00:00Z",
        "end": "2027-01-02T00:00Z",
    }
    assert contact.post("/schedules/support/overrides", override).status_code == 403
    assert Override.objects.count() == 0


def test_only_team_members_change_a_schedule(api_as, make_staff, schedule) -> None:
    outsider = api_as(make_staff("ops"))
    assert outsider.get("/schedules/support/oncall").status_code == 200
    override = {
        "email": "sam@example.com",
        "start": "2027-01-01T00:00Z",
        "end": "2027-01-02T00:00Z",
    }
    refused = outsider.post("/schedules/support/overrides", override)
    assert refused.status_code == 403
    assert "Only members of Support" in refused.json()["detail"]


def test_unknown_schedule_is_404(agent) -> None:
    assert agent.get("/schedules/999/oncall").status_code == 404
    assert agent.get("/schedules/99999999999999999999999").status_code == 404
    assert agent.get("/schedules/nope").json()["detail"] == "Schedule 'nope' not found."


@pytest.mark.parametrize(
    "change, words",
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "Unknown time zone 'Mars/Olympus_Mons'"),
        ({"slug": "123"}, "not only digits"),
        ({"layers": [{**follow_the_sun()["layers"][0], "participants": []}]}, "at least one"),
        (
            {"layers": [{**follow_the_sun()["layers"][0], "participants": ["who@example.com"]}]},
            "Nobody has the address 'who@example.com'",
        ),
        (
            {"layers": [{**follow_the_sun()["layers"][0], "time_zone": "Europe/Londn"}]},
            "Unknown time zone 'Europe/Londn'",
        ),
        (
            {"layers": [{**follow_the_sun()["layers"][0], "handoff_time": "9am"}]},
            "handoff_time must be a time like '09:00'",
        ),
        (
            {
                "layers": [
                    {
                        **follow_the_sun()["layers"][0],
                        "restrictions": [{"days": [7], "start": "09:00", "end": "17:00"}],
                    }
                ]
            },
            "weekdays 0-6",
        ),
        (
            {"layers": [{**follow_the_sun()["layers"][0], "rotation_start": "2026-01-05T09:00"}]},
            "rotation_start needs a time zone offset",
        ),
    ],
)
def test_invalid_schedules_are_422_and_create_nothing(agent, change, words) -> None:
    answer = agent.post("/schedules", {**follow_the_sun(), **change})
    assert answer.status_code == 422, answer.content
    assert words in answer.json()["detail"]
    assert Schedule.objects.count() == 0
    assert Layer.objects.count() == 0


def test_an_override_that_ends_before_it_starts_is_422(agent, schedule) -> None:
    answer = agent.post(
        "/schedules/support/overrides",
        {"email": "lena@example.com", "start": "2027-03-16T12:00Z", "end": "2027-03-16T09:00Z"},
    )
    assert answer.status_code == 422
    assert "must end after it starts" in answer.json()["detail"]


def test_layers_can_be_added_later_and_go_on_top(agent, schedule) -> None:
    answer = agent.post(
        "/schedules/support/layers",
        {
            "name": "Holiday cover",
            "participants": ["lena@example.com", "sam@example.com"],
            "rotation_start": "2027-03-15T00:00:00Z",
            "shift_unit": "hours",
            "shift_count": 12,
            "handoff_time": "00:00",
            "time_zone": "UTC",
        },
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["priority"] == 3
    on_call = agent.get("/schedules/support/oncall", at="2027-03-15T13:00:00Z").json()["on_call"]
    assert [(p["email"], p["layer"]) for p in on_call] == [("sam@example.com", "Holiday cover")]
    again = agent.post(
        "/schedules/support/layers",
        {
            "name": "Holiday cover",
            "participants": ["sam@example.com"],
            "rotation_start": "2027-03-15T00:00:00Z",
        },
    )
    assert again.status_code == 422
    assert "already has a layer named" in again.json()["detail"]
