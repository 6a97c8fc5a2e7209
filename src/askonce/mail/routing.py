"""Which of our addresses a recipient is: support, emergency, a team, or none of ours."""

from dataclasses import dataclass

from django.conf import settings

from askonce.teams.models import Team
from askonce.teams.queries import team_addresses

SUPPORT = "support"
EMERGENCY = "emergency"
TEAM = "team"


@dataclass(frozen=True)
class Route:
    kind: str  # support | emergency | team
    address: str
    team: Team | None = None


def fixed_route_for(address: str) -> Route | None:
    """The route of the support or emergency address (from settings, no database); else None."""
    address = address.strip().lower()
    if address == settings.SUPPORT_ADDRESS:
        return Route(SUPPORT, address)
    if address == settings.EMERGENCY_ADDRESS:
        return Route(EMERGENCY, address)
    return None


def route_for(address: str) -> Route | None:
    fixed = fixed_route_for(address)
    if fixed is not None:
        return fixed
    address = address.strip().lower()
    team = team_addresses().get(address)
    if team is not None:
        return Route(TEAM, address, team)
    return None


def our_addresses() -> set[str]:
    return {settings.SUPPORT_ADDRESS, settings.EMERGENCY_ADDRESS, *team_addresses()}


def best_route(routes: list[Route]) -> Route:
    """One mail to several of our addresses is handled once, by the most specific route."""
    order = {EMERGENCY: 0, TEAM: 1, SUPPORT: 2}
    return sorted(routes, key=lambda route: order[route.kind])[0]
