"""Editing layers and overrides: the console's forms (Django's client; the browser test adds
an override by clicking) and the API, both through the same actions."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from askonce.core.models import Event
from askonce.oncall.actions import LayerDraft, do_add_override, do_create_schedule
from askonce.oncall.models import Layer, Override
from askonce.oncall.queries import final_shifts, layer_people
from askonce.oncall.rotation import parse_restriction_text, restriction_text
from askonce.teams.queries import team_by_slug

pytestmark = pytest.mark.django_db

MONDAY = datetime(2027, 3, 15, 9, tzinfo=UTC)
NOW = MONDAY + timedelta(hours=1)


@pytest.fixture
def support(make_staff):
    sam = make_staff("support", email="sam@example.com", name="Sam Rivera")
    lena = make_staff("support", email="lena@example.com", name="Lena Fischer")
    schedule = do_create_schedule(
        team=team_by_slug("support"),
        name="Support",
        slug="support",
        time_zone="UTC",
        layers=[
            LayerDraft(
                name="Weekly",
                participants=[sam, lena],
                rotation_start=MONDAY,
                handoff_time="09:00",
            )
        ],
        actor=None,
    )
    return {"sam": sam, "lena": lena, "schedule": schedule, "layer": schedule.layers.get()}


@pytest.fixture
def signed_in(client, support):
    with time_machine.travel(NOW, tick=False):
        client.force_login(support["sam"])
        yield client


def override_form(**changes: str) -> dict[str, str]:
    form = {
        "email": "lena@example.com",
        "start": "2027-03-16T08:00",
        "end": "2027-03-16T12:00",
        "time_zone": "Europe/London",
        "reason": "Sam at the dentist",
    }
    form.update(changes)
    return form


def test_adding_an_override_puts_the_person_on_call_then(signed_in, support) -> None:
    answer = signed_in.post("/console/schedules/support/overrides/new/", override_form())
    assert answer.status_code == 302 and answer["Location"] == "/console/schedules/support/"
    override = Override.objects.get()
    # 08:00 London is 08:00 UTC in March before the clocks change.
    assert (override.user, override.start, override.end, override.reason) == (
        support["lena"],
        datetime(2027, 3, 16, 8, tzinfo=UTC),
        datetime(2027, 3, 16, 12, tzinfo=UTC),
        "Sam at the dentist",
    )
    page = signed_in.get("/console/schedules/support/").content.decode()
    assert "Sam at the dentist" in page
    shifts = final_shifts(support["schedule"], override.start, override.end)
    assert [shift.user for shift in shifts] == [support["lena"]]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "nobody@example.com"}, "Nobody has the address &#x27;nobody@example.com&#x27;."),
        ({"email": ""}, "Say who is on call instead"),
        ({"end": "2027-03-16T07:00"}, "An override must end after it starts"),
        ({"end": "2027-03-16T08:00"}, "An override must end after it starts"),
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone &#x27;Mars/Olympus&#x27;"),
        ({"start": "tomorrow"}, "From must be a date and time like 2027-03-15T09:00"),
    ],
)
def test_a_bad_override_is_refused_with_the_reason_and_the_values_kept(
    signed_in, changes, message
) -> None:
    answer = signed_in.post("/console/schedules/support/overrides/new/", override_form(**changes))
    text = answer.content.decode()
    assert answer.status_code == 422
    assert message in text
    assert 'data-testid="form-error"' in text
    assert 'value="Sam at the dentist"' in text, "what was typed is kept"
    assert not Override.objects.exists()


def test_an_override_is_changed_and_removed(signed_in, support) -> None:
    override = do_add_override(
        schedule=support["schedule"],
        user=support["lena"],
        start=MONDAY + timedelta(days=1),
        end=MONDAY + timedelta(days=1, hours=2),
        actor=None,
    )
    url = f"/console/schedules/support/overrides/{override.pk}/"
    form = signed_in.get(url)
    assert form.status_code == 200
    assert 'value="2027-03-16T09:00"' in form.content.decode()
    refused = signed_in.post(url, override_form(start="2027-03-16T12:00", end="2027-03-16T11:00"))
    assert refused.status_code == 422
    override.refresh_from_db()
    assert override.end == MONDAY + timedelta(days=1, hours=2), "nothing half-applied"
    assert signed_in.post(url, override_form(time_zone="UTC")).status_code == 302
    override.refresh_from_db()
    assert override.start == datetime(2027, 3, 16, 8, tzinfo=UTC)
    assert override.reason == "Sam at the dentist"
    removed = signed_in.post(f"{url}remove/", follow=True)
    assert "Override removed" in removed.content.decode()
    assert not Override.objects.exists()
    assert signed_in.get(url).status_code == 404
    verbs = Event.objects.filter(verb__startswith="oncall.override").values_list("verb", flat=True)
    assert list(verbs) == [
        "oncall.override_added",
        "oncall.override_changed",
        "oncall.override_removed",
    ]


def layer_form(**changes: str) -> dict[str, str]:
    form = {
        "participants": "lena@example.com\nsam@example.com",
        "shift_count": "2",
        "shift_unit": "days",
        "handoff_time": "10:30",
        "time_zone": "Europe/London",
        "restrictions": "Mon-Fri 09:00-17:00\nSat 10:00-12:00",
    }
    form.update(changes)
    return form


def test_a_layer_is_edited_from_its_form(signed_in, support) -> None:
    layer = support["layer"]
    url = f"/console/schedules/support/layers/{layer.pk}/"
    shown = signed_in.get(url).content.decode()
    assert "sam@example.com\nlena@example.com</textarea>" in shown
    answer = signed_in.post(url, {**layer_form(), "ticket_duty": "1"})
    assert answer.status_code == 302
    layer = Layer.objects.get(pk=layer.pk)
    assert [person.email for person in layer_people(layer)] == [
        "lena@example.com",
        "sam@example.com",
    ]
    assert (layer.shift_count, layer.shift_unit, layer.handoff_time, layer.time_zone) == (
        2,
        "days",
        time(10, 30),
        "Europe/London",
    )
    assert layer.restrictions == [
        {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
        {"days": [5], "start": "10:00", "end": "12:00"},
    ]
    assert layer.ticket_duty
    changed = Event.objects.get(verb="oncall.layer_changed")
    assert changed.data["participants"] == ["lena@example.com", "sam@example.com"]
    page = signed_in.get("/console/schedules/support/").content.decode()
    assert "Mon-Fri 09:00-17:00; Sat 10:00-12:00" in page and "ticket duty" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"participants": "sam@example.com\nghost@example.com"}, "Nobody has the address"),
        ({"participants": ""}, "needs at least one participant"),
        ({"time_zone": "Europe/Londn"}, "Unknown time zone &#x27;Europe/Londn&#x27;"),
        ({"shift_count": "0"}, "shift_count must be between 1 and 1000"),
        ({"shift_count": "two"}, "Shift length must be a whole number"),
        ({"handoff_time": "25:00"}, "handoff_time must be a time like"),
        ({"restrictions": "Weekdays 09:00-17:00"}, "is not a day"),
        ({"restrictions": "Mon-Fri 9-5"}, "must be a time like"),
    ],
)
def test_a_bad_layer_edit_is_refused_and_changes_nothing(
    signed_in, support, changes, message
) -> None:
    layer = support["layer"]
    answer = signed_in.post(f"/console/schedules/support/layers/{layer.pk}/", layer_form(**changes))
    assert answer.status_code == 422
    assert message in answer.content.decode()
    fresh = Layer.objects.get(pk=layer.pk)
    assert (fresh.shift_count, fresh.time_zone, fresh.restrictions) == (1, "UTC", [])
    assert [person.email for person in layer_people(fresh)] == [
        "sam@example.com",
        "lena@example.com",
    ]


def test_only_the_team_or_an_admin_edits_its_schedule(client, support, make_staff) -> None:
    omar = make_staff("ops", email="omar@example.com")
    with time_machine.travel(NOW, tick=False):
        client.force_login(omar)
        answer = client.post("/console/schedules/support/overrides/new/", override_form())
    assert answer.status_code == 403
    assert "Only members of Support or an admin" in answer.content.decode()
    assert not Override.objects.exists()


def test_the_api_edits_layers_and_overrides(support, api_as) -> None:
    sam = api_as(support["sam"])
    layer = support["layer"]
    changed = sam.client.patch(
        f"/api/v1/schedules/support/layers/{layer.pk}",
        '{"participants": ["lena@example.com"], "restrictions": [], "ticket_duty": true}',
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["participants"] == ["lena@example.com"]
    assert changed.json()["ticket_duty"] is True and changed.json()["shift_unit"] == "weeks"
    bad = sam.client.patch(
        f"/api/v1/schedules/support/layers/{layer.pk}",
        '{"time_zone": "Nowhere/Land"}',
        content_type="application/json",
    )
    assert bad.status_code == 422 and "Unknown time zone" in bad.json()["detail"]
    assert (
        sam.client.patch(
            "/api/v1/schedules/support/layers/99999", "{}", content_type="application/json"
        ).status_code
        == 404
    )

    added = sam.post(
        "/schedules/support/overrides",
        {"email": "sam@example.com", "start": "2027-03-16T09:00Z", "end": "2027-03-16T10:00Z"},
    ).json()
    moved = sam.put(
        f"/schedules/support/overrides/{added['id']}",
        {"email": "sam@example.com", "start": "2027-03-16T11:00Z", "end": "2027-03-16T12:00Z"},
    )
    assert moved.status_code == 200 and moved.json()["start"].startswith("2027-03-16T11:00")
    backwards = sam.put(
        f"/schedules/support/overrides/{added['id']}",
        {"email": "sam@example.com", "start": "2027-03-16T11:00Z", "end": "2027-03-16T10:00Z"},
    )
    assert backwards.status_code == 422 and "must end after it starts" in backwards.json()["detail"]
    path = f"/api/v1/schedules/support/overrides/{added['id']}"
    assert sam.client.delete(path).status_code == 204
    assert sam.client.delete(path).status_code == 404


def test_restriction_text_reads_back_what_it_writes() -> None:
    windows = [
        {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
        {"days": [5, 6], "start": "00:00", "end": "24:00"},
        {"days": [0, 2, 3, 4], "start": "22:00", "end": "06:00"},
    ]
    text = restriction_text(windows)
    assert text == "Mon-Fri 09:00-17:00\nSat,Sun 00:00-24:00\nMon,Wed-Fri 22:00-06:00"
    assert parse_restriction_text(text) == windows
    assert parse_restriction_text("  \n") == []
