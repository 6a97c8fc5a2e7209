"""Typed errors that actions and queries raise; the API and pages turn them into answers."""


class DomainError(Exception):
    """Base class: the message is written for the person who made the request."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class InvalidInput(DomainError):
    status_code = 422


class InvalidTransition(DomainError):
    """A state change that the current state does not allow; answered with HTTP 409."""

    status_code = 409

    def __init__(self, *, action: str, current: str, allowed: list[str], subject: str) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"Cannot {action} {subject}: it is '{current}'. Allowed actions now: {allowed_text}."
        )
        self.action = action
        self.current = current
        self.allowed = allowed
