"""Shapes of tickets in the API (django-ninja schemas)."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from askonce.tickets.models import Message, Ticket


class TicketCreate(Schema):
    subject: str = Field(..., max_length=255)
    body: str
    requester_email: str | None = Field(
        None, description="Who asks; staff must give it, a contact's own address is used."
    )
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class AssignIn(Schema):
    team: str = Field(..., description="The team's slug, e.g. `ops`.")
    note: str = ""


class NoteIn(Schema):
    note: str = ""


class MessageIn(Schema):
    body: str
    visibility: Literal["public", "internal"] = "public"


class DocumentationIn(Schema):
    decision: Literal["linked", "needed", "not_needed"]
    article: str | None = None
    reason: str | None = None
    # For "needed": the category the missing article belongs in (its owner gets the task).
    category: str | None = None


class SolveIn(Schema):
    resolution: str
    documentation: DocumentationIn


class AnswerWithArticleIn(Schema):
    article: str  # slug, id or help-center link of a published, public article


class ArticleAnswerOut(Schema):
    slug: str
    title: str
    url: str
    reply: str


class MessageOut(Schema):
    id: int
    author_email: str
    author_name: str
    body: str
    visibility: str
    channel: str
    created_at: datetime

    @staticmethod
    def resolve_author_email(obj: Message) -> str:
        return obj.author.email

    @staticmethod
    def resolve_author_name(obj: Message) -> str:
        return obj.author.display_name


class DocumentationOut(Schema):
    decision: str | None
    article: str | None
    reason: str | None


class TicketOut(Schema):
    id: int
    status: str
    subject: str
    priority: str
    channel: str
    requester_email: str
    organization: str | None
    owner: str | None
    team: str | None
    response_due_at: datetime | None
    handoff_count: int
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    resolution: str
    documentation: DocumentationOut

    @staticmethod
    def resolve_requester_email(obj: Ticket) -> str:
        return obj.requester.email

    @staticmethod
    def resolve_organization(obj: Ticket) -> str | None:
        return obj.organization.name if obj.organization else None

    @staticmethod
    def resolve_owner(obj: Ticket) -> str | None:
        return obj.owner.email if obj.owner else None

    @staticmethod
    def resolve_team(obj: Ticket) -> str | None:
        return obj.team.slug if obj.team else None

    @staticmethod
    def resolve_documentation(obj: Ticket) -> dict[str, str | None]:
        return {
            "decision": obj.documentation_decision or None,
            "article": obj.documentation_article or None,
            "reason": obj.documentation_reason or None,
        }


class TicketDetailOut(TicketOut):
    """A ticket with the thread the caller may see and the actions the caller may take."""

    messages: list[MessageOut]
    allowed_actions: list[str]

    @staticmethod
    def resolve_messages(obj: Ticket) -> list[Message]:
        return obj.visible_thread  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def resolve_allowed_actions(obj: Ticket) -> list[str]:
        return obj.allowed_actions  # type: ignore[attr-defined,no-any-return]


class EventOut(Schema):
    id: int
    occurred_at: datetime
    verb: str
    actor: str | None
    from_state: str
    to_state: str
    note: str
    data: dict

    @staticmethod
    def resolve_actor(obj: object) -> str | None:
        actor = getattr(obj, "actor", None)
        return actor.email if actor is not None else None
