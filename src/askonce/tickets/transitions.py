"""The ticket state machine of DESIGN §2, as one table.

Each action names the states it may start from and the state it leads to. Team posts and
customer replies move tickets too; they are listed so error messages and pages stay truthful.
"""

from askonce.core.state_machine import StateMachine
from askonce.tickets.models import Status

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "claim": (frozenset({Status.NEW}), Status.OPEN),
    "assign": (frozenset({Status.OPEN}), Status.WITH_TEAM),
    "team-respond": (frozenset({Status.WITH_TEAM}), Status.RETURNED),
    "take-back": (frozenset({Status.WITH_TEAM, Status.RETURNED}), Status.OPEN),
    "pending": (frozenset({Status.OPEN}), Status.PENDING_CUSTOMER),
    "customer-reply": (frozenset({Status.PENDING_CUSTOMER, Status.SOLVED}), Status.OPEN),
    "solve": (frozenset({Status.OPEN, Status.PENDING_CUSTOMER}), Status.SOLVED),
    "reopen": (frozenset({Status.SOLVED}), Status.OPEN),
    "close": (frozenset({Status.SOLVED}), Status.CLOSED),
}

# What an agent can ask for by name (the others happen as a side effect of posting).
AGENT_ACTIONS = ["claim", "assign", "take-back", "pending", "solve", "reopen", "close"]


MACHINE = StateMachine(TRANSITIONS, subject="ticket", offered=AGENT_ACTIONS)


def allowed_actions(status: str) -> list[str]:
    return MACHINE.allowed_actions(status)


def can(action: str, status: str) -> bool:
    return MACHINE.can(action, status)


def check_transition(action: str, status: str, *, ticket_id: int) -> str:
    """Return the state `action` leads to from `status`, or raise InvalidTransition."""
    return MACHINE.check(action, status, subject_id=ticket_id)
