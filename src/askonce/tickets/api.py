"""Ticket endpoints of /api/v1: thin handlers that call one query or action each."""

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from askonce.accounts.models import User
from askonce.core.errors import InvalidInput
from askonce.teams.queries import team_by_slug
from askonce.tickets import actions, queries
from askonce.tickets.models import Ticket
from askonce.tickets.schemas import (
    AnswerWithArticleIn,
    ArticleAnswerOut,
    AssignIn,
    EventOut,
    MessageIn,
    MessageOut,
    NoteIn,
    SolveIn,
    TicketCreate,
    TicketDetailOut,
    TicketOut,
)

router = Router(tags=["tickets"])


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _detail(user: User, ticket_id: int) -> Ticket:
    ticket = queries.access_ticket(user, ticket_id)
    ticket.visible_thread = queries.ticket_messages(user, ticket)  # type: ignore[attr-defined]
    ticket.allowed_actions = queries.actions_for(user, ticket)  # type: ignore[attr-defined]
    return ticket


@router.post("/tickets", response={201: TicketOut}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketCreate) -> Status:
    user = _user(request)
    if user.is_contact:
        ticket = actions.do_create_ticket(
            subject=payload.subject,
            body=payload.body,
            requester=user,
            actor=user,
            priority=payload.priority,
            channel="api",
        )
    elif payload.requester_email:
        ticket = actions.do_create_ticket_for_address(
            requester_email=payload.requester_email,
            subject=payload.subject,
            body=payload.body,
            actor=user,
            priority=payload.priority,
            channel="api",
        )
    else:
        raise InvalidInput("requester_email is required when staff open a ticket.")
    return Status(201, ticket)


@router.get("/tickets", response=list[TicketOut], summary="List tickets the caller may see")
@paginate(LimitOffsetPagination)
def list_tickets(
    request: HttpRequest,
    status: str | None = None,
    team: str | None = None,
    owner: str | None = None,
) -> object:
    return queries.filter_tickets(_user(request), status=status, team=team, owner=owner)


@router.get("/tickets/{ticket_id}", response=TicketDetailOut)
def get_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    return _detail(_user(request), ticket_id)


@router.post("/tickets/{ticket_id}/claim", response=TicketDetailOut)
def claim_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    user = _user(request)
    actions.do_claim_ticket(ticket=queries.access_ticket(user, ticket_id), actor=user)
    return _detail(user, ticket_id)


@router.post("/tickets/{ticket_id}/assign", response=TicketDetailOut)
def assign_ticket(request: HttpRequest, ticket_id: int, payload: AssignIn) -> Ticket:
    user = _user(request)
    ticket = queries.access_ticket(user, ticket_id)
    actions.do_assign_to_team(
        ticket=ticket, team=team_by_slug(payload.team), actor=user, note=payload.note
    )
    return _detail(user, ticket_id)


@router.post("/tickets/{ticket_id}/messages", response={201: MessageOut})
def post_message(request: HttpRequest, ticket_id: int, payload: MessageIn) -> Status:
    user = _user(request)
    message = actions.do_post_message(
        ticket=queries.access_ticket(user, ticket_id),
        author=user,
        body=payload.body,
        visibility=payload.visibility,
        channel="api",
    )
    return Status(201, message)


@router.post("/tickets/{ticket_id}/take-back", response=TicketDetailOut)
def take_back(request: HttpRequest, ticket_id: int, payload: NoteIn | None = None) -> Ticket:
    user = _user(request)
    note = payload.note if payload else ""
    actions.do_take_back(ticket=queries.access_ticket(user, ticket_id), actor=user, note=note)
    return _detail(user, ticket_id)


@router.post("/tickets/{ticket_id}/pending", response=TicketDetailOut)
def set_pending(request: HttpRequest, ticket_id: int, payload: NoteIn | None = None) -> Ticket:
    user = _user(request)
    note = payload.note if payload else ""
    actions.do_set_pending(ticket=queries.access_ticket(user, ticket_id), actor=user, note=note)
    return _detail(user, ticket_id)


@router.post("/tickets/{ticket_id}/solve", response=TicketDetailOut)
def solve_ticket(request: HttpRequest, ticket_id: int, payload: SolveIn) -> Ticket:
    user = _user(request)
    actions.do_solve_ticket(
        ticket=queries.access_ticket(user, ticket_id),
        actor=user,
        resolution=payload.resolution,
        decision=payload.documentation.decision,
        article=payload.documentation.article or "",
        reason=payload.documentation.reason or "",
        category=payload.documentation.category or "",
    )
    return _detail(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/answer-with-article",
    response=ArticleAnswerOut,
    summary="Answer with this article",
)
def answer_with_article(
    request: HttpRequest, ticket_id: int, payload: AnswerWithArticleIn
) -> actions.ArticleAnswer:
    """Links the article to the ticket (solving defaults to it) and returns a reply carrying
    its link; send it with POST /tickets/{id}/messages, edited or not."""
    user = _user(request)
    return actions.do_answer_with_article(
        ticket=queries.access_ticket(user, ticket_id), actor=user, article=payload.article
    )


@router.post("/tickets/{ticket_id}/reopen", response=TicketDetailOut)
def reopen_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    user = _user(request)
    actions.do_reopen_ticket(ticket=queries.access_ticket(user, ticket_id), actor=user)
    return _detail(user, ticket_id)


@router.post("/tickets/{ticket_id}/close", response=TicketDetailOut)
def close_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    user = _user(request)
    actions.do_close_ticket(ticket=queries.access_ticket(user, ticket_id), actor=user)
    return _detail(user, ticket_id)


@router.get("/tickets/{ticket_id}/events", response=list[EventOut])
def ticket_events(request: HttpRequest, ticket_id: int) -> list:
    user = _user(request)
    return queries.ticket_events(user, queries.access_ticket(user, ticket_id))
