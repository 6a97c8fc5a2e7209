"""The page state machine, as one table: triggered → acknowledged → resolved.

A trigger with the dedup key of an open page folds into it and changes no state, so it is not
listed here.
"""

from askonce.core.state_machine import StateMachine
from askonce.oncall.models import PageStatus

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({PageStatus.TRIGGERED}), PageStatus.ACKNOWLEDGED),
    "resolve": (
        frozenset({PageStatus.TRIGGERED, PageStatus.ACKNOWLEDGED}),
        PageStatus.RESOLVED,
    ),
}


MACHINE = StateMachine(TRANSITIONS, subject="page")


def allowed_actions(status: str) -> list[str]:
    return MACHINE.allowed_actions(status)


def can(action: str, status: str) -> bool:
    return MACHINE.can(action, status)


def check_transition(action: str, status: str, *, page_id: int) -> str:
    """Return the state `action` leads to from `status`, or raise InvalidTransition (409)."""
    return MACHINE.check(action, status, subject_id=page_id)
