"""The demo escalation policies: one per demo team; support pages its schedule, then the admin."""

import pytest

from askonce.console.demo import load_demo_data
from askonce.oncall.models import EscalationPolicy, EscalationStep
from askonce.oncall.paging_demo import load_paging_demo

pytestmark = pytest.mark.django_db


def test_every_demo_team_has_a_policy_and_loading_twice_adds_nothing() -> None:
    assert load_demo_data() is True  # `askonce demo` loads the policies with everything else
    assert set(EscalationPolicy.objects.values_list("slug", flat=True)) == {
        "support",
        "ops",
        "neteng",
        "finance",
        "legal",
        "engineering",
    }
    support = EscalationPolicy.objects.get(slug="support")
    steps = [
        (step.kind, step.schedule.slug if step.schedule else step.user.email, step.wait_minutes)
        for step in support.steps.order_by("position")
    ]
    assert steps == [("schedule", "support", 15), ("user", "admin@example.com", 15)]
    counts = (EscalationPolicy.objects.count(), EscalationStep.objects.count())
    assert load_paging_demo() is False
    assert (EscalationPolicy.objects.count(), EscalationStep.objects.count()) == counts
