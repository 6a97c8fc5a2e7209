"""One table of allowed transitions per model, and the one error every refusal raises.

A domain lists `action -> (states it may start from, state it leads to)`; the machine answers
what is allowed now and turns a refused action into InvalidTransition (HTTP 409), whose message
names the current state and the actions that are allowed.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from askonce.core.errors import InvalidTransition


@dataclass(frozen=True)
class StateMachine:
    transitions: Mapping[str, tuple[frozenset[str], str]]
    subject: str  # "ticket", "page": how refusals name the thing
    # The actions people ask for by name, in the order they are offered (default: all).
    offered: Iterable[str] | None = None

    def allowed_actions(self, status: str) -> list[str]:
        names = self.offered if self.offered is not None else self.transitions
        return [name for name in names if status in self.transitions[name][0]]

    def can(self, action: str, status: str) -> bool:
        return status in self.transitions[action][0]

    def check(self, action: str, status: str, *, subject_id: int) -> str:
        """The state `action` leads to from `status`, or InvalidTransition."""
        sources, target = self.transitions[action]
        if status not in sources:
            raise InvalidTransition(
                action=action.replace("-", " "),
                current=status,
                allowed=self.allowed_actions(status),
                subject=f"{self.subject} #{subject_id}",
            )
        return target
