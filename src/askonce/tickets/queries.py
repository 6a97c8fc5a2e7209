"""Reads of tickets, always scoped to what the caller may see."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from askonce.accounts.models import User
from askonce.core.cache import TimedCache
from askonce.core.errors import Forbidden, NotFound
from askonce.core.models import Event
from askonce.kb.queries import suggested_articles
from askonce.teams.models import Team
from askonce.teams.queries import is_agent, team_ids_of
from askonce.tickets.models import (
    Attachment,
    DocumentationDecision,
    Message,
    Status,
    Ticket,
    Visibility,
)
from askonce.tickets.transitions import allowed_actions

ACTIVE_STATUSES = [
    Status.NEW,
    Status.OPEN,
    Status.WITH_TEAM,
    Status.RETURNED,
    Status.PENDING_CUSTOMER,
]
DUE_SOON = timedelta(minutes=30)


def visible_tickets(user: User) -> QuerySet[Ticket]:
    """Staff see every ticket; a contact sees its organization's (or, without one, its own)."""
    tickets = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    if user.is_staff_member:
        return tickets
    if user.organization_id is None:
        return tickets.filter(requester=user)
    return tickets.filter(organization_id=user.organization_id)


def access_ticket(user: User, ticket_id: int) -> Ticket:
    """The ticket if the user may see it; otherwise NotFound (never reveal that it exists)."""
    ticket = (
        visible_tickets(user)
        .select_related("requester", "owner", "team", "organization")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(f"Ticket #{ticket_id} not found.")
    return ticket


def ticket_messages(user: User, ticket: Ticket) -> list[Message]:
    messages = (
        ticket.messages.select_related("author").prefetch_related("attachments").order_by("id")
    )
    if not user.is_staff_member:
        messages = messages.filter(visibility=Visibility.PUBLIC)
    return list(messages)


def ticket_events(user: User, ticket: Ticket) -> list[Event]:
    if not user.is_staff_member:
        raise Forbidden("The audit trail is visible to staff only.")
    return list(
        Event.objects.filter(subject_type="ticket", subject_id=ticket.pk)
        .select_related("actor")
        .order_by("id")
    )


def filter_tickets(
    user: User,
    *,
    status: str | None = None,
    team: str | None = None,
    owner: str | None = None,
) -> QuerySet[Ticket]:
    tickets = visible_tickets(user).select_related("requester", "owner", "team")
    if status:
        tickets = tickets.filter(status__in=status.split(","))
    if team:
        tickets = tickets.filter(team__slug=team)
    if owner:
        if owner == "me":
            tickets = tickets.filter(owner=user)
        elif owner == "none":
            tickets = tickets.filter(owner__isnull=True)
        else:
            tickets = tickets.filter(owner__email=owner.lower())
    return tickets.order_by("-id")


# The agent console's queues: name -> (title, how to filter for this user).
QUEUES = {
    "unclaimed": "Unclaimed",
    "mine": "Mine",
    "returned": "Returned to me",
    "with_team": "With a team",
    "due_soon": "Team answer due soon",
    "overdue": "Overdue",
    "pending": "Pending customer",
    "all_open": "All open",
    "solved": "Recently solved",
}


def queue_tickets(user: User, queue: str) -> QuerySet[Ticket]:
    tickets = Ticket.objects.select_related("requester", "owner", "team", "organization")
    now = timezone.now()
    if queue == "unclaimed":
        return tickets.filter(status=Status.NEW).order_by("id")
    if queue == "mine":
        return tickets.filter(
            owner=user, status__in=[Status.OPEN, Status.RETURNED, Status.WITH_TEAM]
        ).order_by("-updated_at")
    if queue == "returned":
        return tickets.filter(owner=user, status=Status.RETURNED).order_by("updated_at")
    if queue == "with_team":
        return tickets.filter(status=Status.WITH_TEAM).order_by("response_due_at")
    if queue == "due_soon":
        return tickets.filter(
            status=Status.WITH_TEAM, response_due_at__gte=now, response_due_at__lt=now + DUE_SOON
        ).order_by("response_due_at")
    if queue == "overdue":
        return tickets.filter(status=Status.WITH_TEAM, response_due_at__lt=now).order_by(
            "response_due_at"
        )
    if queue == "pending":
        return tickets.filter(status=Status.PENDING_CUSTOMER).order_by("-updated_at")
    if queue == "all_open":
        # "Not finished" rather than "one of five states": the newest-first scan of the primary
        # key then stops after one page instead of sorting every open ticket.
        return tickets.exclude(status__in=[Status.SOLVED, Status.CLOSED]).order_by("-id")
    if queue == "solved":
        return tickets.filter(status=Status.SOLVED).order_by("-solved_at")
    raise NotFound(f"Unknown queue {queue!r}. Queues: {', '.join(QUEUES)}.")


# Counting every open ticket by state costs tens of milliseconds at 100,000 tickets, and every
# queue page shows the counts. Every ticket change records an event, so the newest event id says
# whether the counts can have changed: they are recounted only after a change.
_status_counts: TimedCache[dict[str, int]] = TimedCache(60.0, max_entries=4)


def _counts_by_status(now: datetime) -> dict[str, int]:
    latest_event = Event.objects.aggregate(latest=Max("id"))["latest"] or 0
    minute = now.replace(second=0, microsecond=0)  # overdue / due-soon move with the clock

    def count() -> dict[str, int]:
        counts = dict(
            Ticket.objects.filter(status__in=[*ACTIVE_STATUSES, Status.SOLVED])
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        deadlines = Ticket.objects.filter(
            status=Status.WITH_TEAM, response_due_at__lt=now + DUE_SOON
        ).aggregate(
            overdue=Count("id", filter=Q(response_due_at__lt=now)),
            due_soon=Count("id", filter=Q(response_due_at__gte=now)),
        )
        return {**counts, **deadlines}

    return _status_counts.get((latest_event, minute), count) or {}


def queue_counts(user: User) -> dict[str, int]:
    """Counts for every queue: per-state counts (recounted after changes) and the user's own."""
    now = timezone.now()
    by_status = _counts_by_status(now)
    mine = Ticket.objects.filter(
        owner=user, status__in=[Status.OPEN, Status.RETURNED, Status.WITH_TEAM]
    ).aggregate(
        mine=Count("id"),
        returned=Count("id", filter=Q(status=Status.RETURNED)),
    )
    return {
        "unclaimed": by_status.get(Status.NEW, 0),
        "mine": mine["mine"],
        "returned": mine["returned"],
        "with_team": by_status.get(Status.WITH_TEAM, 0),
        "due_soon": by_status.get("due_soon", 0),
        "overdue": by_status.get("overdue", 0),
        "pending": by_status.get(Status.PENDING_CUSTOMER, 0),
        "all_open": sum(by_status.get(status, 0) for status in ACTIVE_STATUSES),
        "solved": by_status.get(Status.SOLVED, 0),
    }


def team_queue(team: Team) -> QuerySet[Ticket]:
    return (
        Ticket.objects.select_related("requester", "owner", "team", "organization")
        .filter(team=team, status__in=[Status.WITH_TEAM, Status.RETURNED])
        .order_by("response_due_at", "id")
    )


def actions_for(user: User, ticket: Ticket) -> list[str]:
    """What this user may do to this ticket now (drives the buttons on the ticket page)."""
    if not is_agent(user):
        return []
    return allowed_actions(ticket.status)


def may_post_internal(user: User, ticket: Ticket) -> bool:
    if is_agent(user):
        return True
    return (
        user.is_staff_member
        and ticket.team_id is not None
        and ticket.team_id in team_ids_of(user)
        and ticket.status in (Status.WITH_TEAM, Status.RETURNED)
    )


def response_misses_by_team() -> dict[str, int]:
    return dict(
        Team.objects.annotate(n=Count("response_misses")).values_list("slug", "n").order_by("slug")
    )


def is_due_soon(ticket: Ticket) -> bool:
    if ticket.status != Status.WITH_TEAM or ticket.response_due_at is None:
        return False
    return ticket.response_due_at - timezone.now() < DUE_SOON


def access_attachment(user: User, attachment_id: int) -> Attachment:
    """The attachment if the user may read its message (contacts: public messages only)."""
    attachment = (
        Attachment.objects.select_related("message", "message__ticket")
        .filter(pk=attachment_id, message__ticket__in=visible_tickets(user))
        .first()
    )
    if attachment is None or (
        not user.is_staff_member and attachment.message.visibility != Visibility.PUBLIC
    ):
        raise NotFound(f"Attachment {attachment_id} not found.")
    return attachment


# Enough of the first message to say what the question is about, without drowning the subject.
_SUGGESTION_QUERY_CHARS = 400


def article_suggestions(user: User, ticket: Ticket, *, limit: int = 5) -> list[dict[str, object]]:
    """Published articles that may answer the ticket's question (full-text match of its subject
    and first message; the question index adds earlier questions like it)."""
    first = ticket.messages.filter(visibility=Visibility.PUBLIC).order_by("created_at").first()
    question = f"{ticket.subject} {first.body[:_SUGGESTION_QUERY_CHARS] if first else ''}"
    return suggested_articles(user, question, limit=limit)


@dataclass(frozen=True)
class QuestionSource:
    """What the question index keeps of a ticket: the question as the customer asked it."""

    ticket_id: int
    subject: str
    body: str
    channel: str
    organization_id: int | None
    asked_at: datetime


def question_source(ticket_id: int) -> QuestionSource | None:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return None
    first = ticket.messages.filter(visibility=Visibility.PUBLIC).order_by("id").first()
    return QuestionSource(
        ticket_id=ticket.pk,
        subject=ticket.subject,
        body=first.body if first else "",
        channel=ticket.channel,
        organization_id=ticket.organization_id,
        asked_at=ticket.created_at,
    )


def public_answer(ticket_id: int) -> tuple[str, str]:
    """(the staff's public replies joined, the linked article's slug) of a solved ticket."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return "", ""
    replies = (
        ticket.messages.filter(visibility=Visibility.PUBLIC, author__kind=User.Kind.STAFF)
        .order_by("id")
        .values_list("body", flat=True)
    )
    return "\n\n".join(replies), ticket.documentation_article


def ticket_ids_after(ticket_id: int, *, limit: int) -> list[int]:
    """Ids of the tickets filed after `ticket_id`, oldest first (for the question index)."""
    return list(
        Ticket.objects.filter(pk__gt=ticket_id).order_by("pk").values_list("pk", flat=True)[:limit]
    )


def solved_by_day(since: datetime) -> list[tuple[date, int, int]]:
    """(UTC day, tickets solved that day, of which solved with a linked article) for tickets
    solved since `since` (a reopened ticket counts when it is solved again)."""
    rows = (
        Ticket.objects.filter(solved_at__gte=since)
        .annotate(day=TruncDate("solved_at", tzinfo=UTC))
        .values("day")
        .annotate(
            solved=Count("id"),
            linked=Count("id", filter=Q(documentation_decision=DocumentationDecision.LINKED)),
        )
        .order_by("day")
    )
    return [(row["day"], row["solved"], row["linked"]) for row in rows]


def linked_article(events: list[Event]) -> str:
    """The article last chosen with 'answer with this article' in these events ('' if none)."""
    for event in reversed(events):
        if event.verb == "ticket.article_linked":
            return str(event.data.get("article", ""))
    return ""
