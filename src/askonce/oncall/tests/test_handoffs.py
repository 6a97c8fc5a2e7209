"""Handoff notices: the person coming on call is told shortly before the shift, by mail (and
their own webhook), once, however often the worker looks and however often it restarts."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from askonce.notify.webhooks import do_create_webhook_endpoint
from askonce.oncall.actions import LayerDraft, do_add_override, do_create_schedule
from askonce.oncall.handoffs import do_notify_shift_starts
from askonce.oncall.models import ShiftNotice
from askonce.teams.queries import team_by_slug

pytestmark = pytest.mark.django_db

# A Monday; Ada and Ben take turns daily at 09:00 UTC, Ada first.
MONDAY_9 = datetime(2027, 3, 15, 9, tzinfo=UTC)


@pytest.fixture
def rota(make_staff):
    ada = make_staff("ops", email="ada@example.com", name="Ada Lovelace")
    ben = make_staff("ops", email="ben@example.com", name="Ben Okafor")
    schedule = do_create_schedule(
        team=team_by_slug("ops"),
        name="Ops on-call",
        slug="ops",
        time_zone="UTC",
        layers=[
            LayerDraft(
                name="Daily",
                participants=[ada, ben],
                rotation_start=MONDAY_9,
                shift_count=1,
                shift_unit="days",
                handoff_time="09:00",
            )
        ],
        actor=None,
    )
    return {"ada": ada, "ben": ben, "schedule": schedule}


def shift_mails(mailbox, address: str) -> list:
    return [m for m in mailbox.to(address) if m["Subject"].startswith("On call in ")]


def test_the_next_person_is_told_fifteen_minutes_before_and_only_once(
    rota, mailbox, django_capture_on_commit_callbacks
) -> None:
    """Ben gets one mail at 08:45 Tuesday saying he takes over from Ada at 09:00 until Wednesday."""
    tuesday_9 = MONDAY_9 + timedelta(days=1)
    with time_machine.travel(tuesday_9 - timedelta(minutes=15, seconds=1), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            assert do_notify_shift_starts() == 0, "more than 15 minutes ahead: not yet"
        assert not shift_mails(mailbox, "ben@example.com")

        clock.shift(timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert do_notify_shift_starts() == 1
        [mail] = shift_mails(mailbox, "ben@example.com")
        assert mail["Subject"] == "On call in Ops on-call from Tue Mar 16 09:00 UTC"
        body = mail.get_payload(decode=True).decode()
        assert "starts at 2027-03-16 09:00 UTC" in body
        assert "until 2027-03-17 09:00 UTC" in body
        assert "You take over from Ada Lovelace (ada@example.com)." in body

        # The worker looks again every minute, restarts, runs twice at once: still one mail.
        for _ in range(3):
            clock.shift(timedelta(minutes=1))
            with django_capture_on_commit_callbacks(execute=True):
                assert do_notify_shift_starts() == 0
        with django_capture_on_commit_callbacks(execute=True):
            call_command("worker", "--once")
            call_command("worker", "--once")
    assert len(shift_mails(mailbox, "ben@example.com")) == 1
    assert not shift_mails(mailbox, "ada@example.com"), "Ada is going off call"
    [notice] = ShiftNotice.objects.all()
    assert (notice.user, notice.shift_start, notice.shift_end) == (
        rota["ben"],
        tuesday_9,
        tuesday_9 + timedelta(days=1),
    )
    assert notice.methods == ["email"]


def test_a_worker_that_was_down_still_tells_within_half_an_hour(rota, mailbox) -> None:
    """The worker was stopped over the handoff: 20 minutes late Ben is still told; an hour late
    it is history and nobody is mailed about it."""
    tuesday_9 = MONDAY_9 + timedelta(days=1)
    with time_machine.travel(tuesday_9 + timedelta(minutes=20), tick=False):
        assert do_notify_shift_starts() == 1
    notice = ShiftNotice.objects.get()
    assert notice.user == rota["ben"]
    with time_machine.travel(tuesday_9 + timedelta(days=1, hours=1), tick=False):
        assert do_notify_shift_starts() == 0, "Ada's Wednesday began an hour ago"
    assert ShiftNotice.objects.count() == 1


def test_an_override_is_a_shift_of_its_own_and_its_webhook_hears_of_it(
    rota, make_staff, mailbox, receiver, django_capture_on_commit_callbacks
) -> None:
    """Cleo covers Monday 13:00-15:00 for Ada: Cleo is told (mail and phone), and Ada is told
    again that her shift resumes at 15:00."""
    cleo = make_staff("ops", email="cleo@example.com", name="Cleo Park")
    do_create_webhook_endpoint(name="Cleo's phone", url=receiver.url("/cleo"), user=cleo)
    do_add_override(
        schedule=rota["schedule"],
        user=cleo,
        start=MONDAY_9 + timedelta(hours=4),
        end=MONDAY_9 + timedelta(hours=6),
        actor=None,
        reason="dentist",
    )
    with time_machine.travel(MONDAY_9 + timedelta(hours=3, minutes=50), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert do_notify_shift_starts() == 1
    assert shift_mails(mailbox, "cleo@example.com")
    [pushed] = receiver.to("/cleo")
    document = json.loads(pushed.body)
    assert document["event"] == "oncall.shift_starting"
    assert document["shift"]["handing_over"] == "ada@example.com"
    assert document["shift"]["layers"] == ["an override"]
    with time_machine.travel(MONDAY_9 + timedelta(hours=5, minutes=50), tick=False):
        assert do_notify_shift_starts() == 1
    back = ShiftNotice.objects.get(user=rota["ada"])
    assert back.shift_start == MONDAY_9 + timedelta(hours=6)


def test_staying_on_call_across_layers_is_one_shift(
    make_staff, mailbox, django_capture_on_commit_callbacks
) -> None:
    """Sam has the weekend and then Monday too: he is told once, on Friday night."""
    sam = make_staff("support", email="sam@example.com", name="Sam Rivera")
    do_create_schedule(
        team=team_by_slug("support"),
        name="Support",
        slug="support",
        time_zone="UTC",
        layers=[
            LayerDraft(
                name="Weekend",
                participants=[sam],
                rotation_start=datetime(2027, 3, 13, tzinfo=UTC),
                handoff_time="00:00",
                restrictions=[{"days": [5, 6], "start": "00:00", "end": "24:00"}],
                ticket_duty=True,
            ),
            LayerDraft(
                name="Weekdays",
                participants=[sam],
                rotation_start=MONDAY_9,
                handoff_time="00:00",
                restrictions=[{"days": [0], "start": "00:00", "end": "12:00"}],
            ),
        ],
        actor=None,
    )
    saturday = datetime(2027, 3, 20, tzinfo=UTC)
    with time_machine.travel(saturday - timedelta(minutes=10), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert do_notify_shift_starts() == 1
    with time_machine.travel(saturday + timedelta(days=2, minutes=-5), tick=False):
        assert do_notify_shift_starts() == 0, "Monday continues the weekend"
    notice = ShiftNotice.objects.get()
    assert notice.shift_end == saturday + timedelta(days=2, hours=12)
    [mail] = shift_mails(mailbox, "sam@example.com")
    assert "You are also on ticket duty" in mail.get_payload(decode=True).decode()
