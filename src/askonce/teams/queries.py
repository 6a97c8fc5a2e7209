"""Reads about teams: look-ups by slug, who is an agent, who belongs where."""

from django.conf import settings

from askonce.accounts.models import User
from askonce.core.cache import TimedCache
from askonce.core.errors import NotFound
from askonce.teams.models import SUPPORT_TEAM_SLUG, Membership, Team


def team_by_slug(slug: str) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        known = ", ".join(Team.objects.order_by("slug").values_list("slug", flat=True))
        raise NotFound(f"Unknown team {slug!r}. Known teams: {known or 'none'}.")
    return team


def all_teams() -> list[Team]:
    return list(Team.objects.order_by("name"))


def team_ids_of(user: User) -> set[int]:
    if not user.is_authenticated or not user.is_staff_member:
        return set()
    cached = getattr(user, "_team_ids", None)
    if cached is None:
        cached = set(Membership.objects.filter(user=user).values_list("team_id", flat=True))
        user._team_ids = cached  # type: ignore[attr-defined]
    return cached


def is_agent(user: User) -> bool:
    """Agents are the support team (and admins): they may do everything on tickets."""
    if not user.is_authenticated or not user.is_staff_member:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_agent", None)
    if cached is None:
        cached = Membership.objects.filter(user=user, team__slug=SUPPORT_TEAM_SLUG).exists()
        user._is_agent = cached  # type: ignore[attr-defined]
    return cached


def team_address(team: Team) -> str:
    """Where mail for the team goes: its own address, or `<slug>@MAIL_DOMAIN`."""
    return (team.email or f"{team.slug}@{settings.MAIL_DOMAIN}").lower()


# Mail intake asks for every recipient; teams change rarely.
_addresses: TimedCache[dict[str, Team]] = TimedCache(10.0, max_entries=1)


def team_addresses() -> dict[str, Team]:
    return (
        _addresses.get("all", lambda: {team_address(team): team for team in Team.objects.all()})
        or {}
    )


def members_of(team: Team) -> list[User]:
    return list(team.members.filter(is_active=True).order_by("email"))


def forget_team_addresses() -> None:
    _addresses.clear()
