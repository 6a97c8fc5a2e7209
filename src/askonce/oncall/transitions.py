"""The page state machine, as one table: triggered → acknowledged → resolved.

A trigger with the dedup key of an open page folds into it and changes no state, so it is not
listed here.
"""

from askonce.core.errors import InvalidTransition
from askonce.oncall.models import PageStatus

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({PageStatus.TRIGGERED}), PageStatus.ACKNOWLEDGED),
    "resolve": (
        frozenset({PageStatus.TRIGGERED, PageStatus.ACKNOWLEDGED}),
        PageStatus.RESOLVED,
    ),
}


def allowed_actions(status: str) -> list[str]:
    return [name for name, (sources, _) in TRANSITIONS.items() if status in sources]


def can(action: str, status: str) -> bool:
    return status in TRANSITIONS[action][0]


def check_transition(action: str, status: str, *, page_id: int) -> str:
    """Return the state `action` leads to from `status`, or raise InvalidTransition (409)."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise InvalidTransition(
            action=action,
            current=status,
            allowed=allowed_actions(status),
            subject=f"page #{page_id}",
        )
    return target
