"""My shifts: a person's upcoming shifts across every schedule (final schedule, overrides
applied), through the API, the console page, and a secret calendar address."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from icalendar import Calendar

from askonce.core.models import Event
from askonce.oncall.actions import LayerDraft, do_add_override, do_create_schedule
from askonce.oncall.feeds import do_renew_calendar_feed, feed_token
from askonce.oncall.models import CalendarFeed
from askonce.teams.queries import team_by_slug

pytestmark = pytest.mark.django_db

MONDAY = datetime(2027, 3, 15, 9, tzinfo=UTC)


@pytest.fixture
def people(make_staff):
    return {
        "sam": make_staff("support", email="sam@example.com", name="Sam Rivera"),
        "lena": make_staff("support", email="lena@example.com", name="Lena Fischer"),
        "omar": make_staff("ops", email="omar@example.com", name="Omar Haddad"),
    }


@pytest.fixture
def schedules(people):
    """Support: Sam and Lena alternate weekly from Monday 09:00, with a higher weekday-evening
    layer for Omar. Ops: Omar and Sam alternate daily."""
    support = do_create_schedule(
        team=team_by_slug("support"),
        name="Support",
        slug="support",
        time_zone="UTC",
        layers=[
            LayerDraft(
                name="Weekly",
                participants=[people["sam"], people["lena"]],
                rotation_start=MONDAY,
                handoff_time="09:00",
            ),
            LayerDraft(
                name="Evenings",
                participants=[people["omar"]],
                rotation_start=MONDAY,
                shift_unit="days",
                handoff_time="18:00",
                restrictions=[{"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "22:00"}],
            ),
        ],
        actor=None,
    )
    ops = do_create_schedule(
        team=team_by_slug("ops"),
        name="Ops",
        slug="ops",
        time_zone="UTC",
        layers=[
            LayerDraft(
                name="Daily",
                participants=[people["omar"], people["sam"]],
                rotation_start=MONDAY,
                shift_unit="days",
                handoff_time="09:00",
            )
        ],
        actor=None,
    )
    return {"support": support, "ops": ops}


def test_my_shifts_cover_every_schedule_with_higher_layers_and_overrides_applied(
    people, schedules, api_as
) -> None:
    """Sam sees his support week cut by Omar's evenings and by Lena's Wednesday override, and
    his Tuesday and Thursday in ops, soonest first."""
    do_add_override(
        schedule=schedules["support"],
        user=people["lena"],
        start=MONDAY + timedelta(days=2, hours=3),  # Wednesday 12:00
        end=MONDAY + timedelta(days=2, hours=5),
        actor=None,
    )
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        answer = api_as(people["sam"]).get("/oncall/my-shifts", days=4)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["email"] == "sam@example.com" and body["calendar_feed"] is None
    got = [(s["schedule"], s["start"][5:16], s["end"][5:16], s["layers"]) for s in body["shifts"]]
    assert got == [
        ("support", "03-15T09:00", "03-15T18:00", ["Weekly"]),  # under way: its real start
        ("support", "03-15T22:00", "03-16T18:00", ["Weekly"]),
        ("ops", "03-16T09:00", "03-17T09:00", ["Daily"]),
        ("support", "03-16T22:00", "03-17T12:00", ["Weekly"]),
        ("support", "03-17T14:00", "03-17T18:00", ["Weekly"]),
        ("support", "03-17T22:00", "03-18T18:00", ["Weekly"]),
        ("ops", "03-18T09:00", "03-19T09:00", ["Daily"]),
        ("support", "03-18T22:00", "03-19T10:00", ["Weekly"]),
    ]


def test_my_shifts_by_session_and_the_limits(people, schedules, client, api_as) -> None:
    """Lena, signed in to the console, asks for two weeks: her week starts the Monday after."""
    with time_machine.travel(MONDAY, tick=False):
        client.force_login(people["lena"])
        answer = client.get("/api/v1/oncall/my-shifts?days=14")
    assert answer.status_code == 200
    starts = [s["start"][:16] for s in answer.json()["shifts"]]
    assert starts == ["2027-03-22T09:00"] + [f"2027-03-{day}T22:00" for day in range(22, 27)]
    assert api_as(people["lena"]).get("/oncall/my-shifts", days=0).status_code == 422
    assert api_as(people["lena"]).get("/oncall/my-shifts", days=91).status_code == 422
    assert Client().get("/api/v1/oncall/my-shifts").status_code == 401


def test_contacts_have_no_shifts_and_no_feed(make_contact, api_as) -> None:
    contact = api_as(make_contact())
    assert contact.get("/oncall/my-shifts").status_code == 403
    assert contact.post("/oncall/my-shifts/calendar-feed").status_code == 403


def test_a_calendar_app_subscribes_without_a_session_until_the_address_changes(
    people, schedules, api_as
) -> None:
    """Sam turns on his feed; a calendar app (no cookie, no token) fetches his shifts; after he
    asks for a new address the old one answers 404; turned off, the new one does too."""
    sam = api_as(people["sam"])
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        created = sam.post("/oncall/my-shifts/calendar-feed")
        assert created.status_code == 201
        url = created.json()["url"]
        assert url.startswith("http://testserver/oncall/calendar/") and url.endswith(".ics")
        assert created.json()["webcal_url"] == "webcal://" + url.removeprefix("http://")
        assert sam.get("/oncall/my-shifts").json()["calendar_feed"] == url

        app = Client()
        fetched = app.get(url.removeprefix("http://testserver"))
        assert fetched.status_code == 200
        assert fetched["Content-Type"] == "text/calendar; charset=utf-8"
        calendar = Calendar.from_ical(fetched.content)
        events = sorted(calendar.walk("VEVENT"), key=lambda event: event.start)
        assert events[0].start == MONDAY and events[0].end == MONDAY + timedelta(hours=9)
        assert str(events[0]["SUMMARY"]) == "On call: Support"
        assert {str(event["SUMMARY"]) for event in events} == {"On call: Support", "On call: Ops"}
        uids = [str(event["UID"]) for event in events]
        assert len(set(uids)) == len(uids)
        assert f"user-{people['sam'].pk}-ops-20270316T090000Z@askonce" in uids
        assert CalendarFeed.objects.get().last_used_at is not None

        renewed = sam.post("/oncall/my-shifts/calendar-feed").json()["url"]
        assert renewed != url
        assert app.get(url.removeprefix("http://testserver")).status_code == 404
        assert app.get(renewed.removeprefix("http://testserver")).status_code == 200

        assert sam.client.delete("/api/v1/oncall/my-shifts/calendar-feed").status_code == 204
        assert app.get(renewed.removeprefix("http://testserver")).status_code == 404
    verbs = list(
        Event.objects.filter(verb__startswith="oncall.calendar_feed").values_list("verb", flat=True)
    )
    assert verbs == [
        "oncall.calendar_feed_created",
        "oncall.calendar_feed_renewed",
        "oncall.calendar_feed_revoked",
    ]
    assert "oncall/calendar" not in str(list(Event.objects.values_list("data", "note")))


def test_a_feed_address_cannot_be_guessed_or_outlive_its_owner(people, schedules) -> None:
    feed = do_renew_calendar_feed(user=people["sam"])
    token = feed_token(feed)
    number, signature = token.split("-")
    app = Client()
    assert app.get(f"/oncall/calendar/{token}.ics").status_code == 200
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for wrong in [f"{number}-{flipped}", f"{number}-", number, f"{int(number) + 1}-{signature}"]:
        assert app.get(f"/oncall/calendar/{wrong}.ics").status_code == 404, wrong
    assert feed.salt not in token, "the address is not in the database"
    people["sam"].is_active = False
    people["sam"].save()
    assert app.get(f"/oncall/calendar/{token}.ics").status_code == 404


def test_the_my_shifts_page_lists_shifts_and_manages_the_address(people, schedules, client) -> None:
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        client.force_login(people["sam"])
        page = client.get("/console/my-shifts/?days=7")
        text = page.content.decode()
        assert page.status_code == 200
        assert len(page.context["shifts"]) == 10
        assert 'href="/console/schedules/ops/"' in text
        assert "Create calendar address" in text
        client.post("/console/my-shifts/calendar-feed/")
        text = client.get("/console/my-shifts/").content.decode()
        feed = CalendarFeed.objects.get(user=people["sam"])
        assert f"/oncall/calendar/{feed_token(feed)}.ics" in text
        assert "webcal://testserver/oncall/calendar/" in text
        client.post("/console/my-shifts/calendar-feed/off/")
        assert not CalendarFeed.objects.exists()
        assert "/console/my-shifts/" in client.get("/console/schedules/").content.decode()
