"""Paging fixtures: the real SMTP intake and webhook receiver, and a support team on call."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from askonce.accounts.models import User
from askonce.mail.tests.conftest import intake, mail, send  # noqa: F401 - fixtures
from askonce.notify.tests.receiver import _running_receiver, receiver  # noqa: F401 - fixtures
from askonce.oncall.actions import (
    LayerDraft,
    StepDraft,
    do_create_escalation_policy,
    do_create_schedule,
)
from askonce.oncall.models import EscalationPolicy, Schedule
from askonce.teams.queries import team_by_slug


@dataclass
class Support:
    sam: User  # on call around the clock
    ada: User  # the admin, paged next
    schedule: Schedule
    policy: EscalationPolicy


def on_call_schedule(team_slug: str, person: User) -> Schedule:
    """`person` on call for the team around the clock."""
    return do_create_schedule(
        team=team_by_slug(team_slug),
        name=f"{team_slug} on-call",
        slug=team_slug,
        time_zone="UTC",
        layers=[
            LayerDraft(
                name="Primary",
                participants=[person],
                rotation_start=datetime(2020, 1, 6, 9, tzinfo=UTC),
            )
        ],
        actor=None,
    )


@pytest.fixture
def support(make_staff) -> Support:
    """Support's policy as in the demo: its schedule, then after 15 minutes the admin; twice."""
    sam = make_staff("support", email="sam@example.com", name="Sam Rivera")
    ada = make_staff("support", email="admin@example.com", name="Ada Admin")
    schedule = on_call_schedule("support", sam)
    policy = do_create_escalation_policy(
        team=schedule.team,
        name="Support escalation",
        slug="support",
        steps=[StepDraft(schedule, wait_minutes=15), StepDraft(ada, wait_minutes=15)],
        repeat_count=1,
        actor=None,
    )
    return Support(sam=sam, ada=ada, schedule=schedule, policy=policy)
