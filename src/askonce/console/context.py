"""Template context shared by every page: who is signed in and what they may open."""

from django.http import HttpRequest
from django.utils import timezone

from askonce.accounts.models import User
from askonce.oncall.ticket_duty import duty_notice
from askonce.teams.models import Team
from askonce.teams.queries import is_agent, team_ids_of


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if user.is_contact:
        return {"nav_role": "contact"}
    return {
        "now": timezone.now(),
        "nav_role": "agent" if is_agent(user) else "team",
        "nav_teams": Team.objects.filter(pk__in=team_ids_of(user)).exclude(slug="support"),
        "ticket_duty": _ticket_duty(user),
    }


def _ticket_duty(user: User) -> list[dict[str, object]]:
    """Who watches new tickets now (weekend ticket duty): kept a minute per process, so most
    pages ask the database nothing for it."""
    return [
        {"person": duty.user, "until": until, "schedule": duty.schedule, "is_me": duty.user == user}
        for duty, until in duty_notice()
    ]
