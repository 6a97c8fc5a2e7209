"""Demo escalation policies: one per demo team, each paging its schedule and then the admin.

Call after `askonce.oncall.demo.load_oncall_demo()` has created the schedules; safe to run again.
"""

from django.db import transaction

from askonce.accounts.queries import user_by_email
from askonce.core.errors import NotFound
from askonce.oncall.actions import StepDraft, do_create_escalation_policy
from askonce.oncall.models import EscalationPolicy
from askonce.oncall.queries import schedule_by_slug
from askonce.teams.queries import team_by_slug

ADMIN = "admin@example.com"
# (team slug, minutes before the admin is paged): support answers emergencies, so it is quick.
TEAM_POLICIES = [
    ("support", 15),
    ("ops", 30),
    ("neteng", 30),
    ("finance", 60),
    ("legal", 60),
    ("engineering", 30),
]


def load_paging_demo() -> bool:
    """Create whichever demo policies are missing; returns True when anything was created."""
    created = False
    admin = user_by_email(ADMIN)
    with transaction.atomic():
        for slug, minutes in TEAM_POLICIES:
            schedule = schedule_by_slug(slug)
            if schedule is None or EscalationPolicy.objects.filter(slug=slug).exists():
                continue
            try:
                team = team_by_slug(slug)
            except NotFound:
                continue
            steps = [StepDraft(schedule, wait_minutes=minutes)]
            if admin is not None:
                steps.append(StepDraft(admin, wait_minutes=minutes))
            do_create_escalation_policy(
                team=team,
                name=f"{team.name} escalation",
                slug=slug,
                steps=steps,
                # Nobody answered the on-call person or the admin: try both once more.
                repeat_count=1,
                actor=None,
            )
            created = True
    return created
