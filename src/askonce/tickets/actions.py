"""Every write to tickets: the hand-off loop of DESIGN §2.

Each action checks who may do it, locks the ticket, checks the transition table, changes the
ticket, appends a message or event, and queues notifications for after the commit.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from askonce.accounts.actions import do_find_or_create_contact
from askonce.accounts.models import User
from askonce.core.batch import insert_row_later
from askonce.core.errors import Forbidden, InvalidInput
from askonce.core.events import record_event
from askonce.core.text import clean_body, clean_line
from askonce.kb.queries import article_for_reference, category_by_slug
from askonce.notify.actions import do_queue_email
from askonce.teams.models import SUPPORT_TEAM_SLUG, Team
from askonce.teams.queries import is_agent, members_of, team_address, team_ids_of
from askonce.tickets.models import (
    Attachment,
    DocumentationDecision,
    Message,
    Priority,
    ResponseMiss,
    Status,
    Ticket,
    Visibility,
)
from askonce.tickets.transitions import check_transition


def _record(
    ticket: Ticket,
    verb: str,
    actor: User | None,
    *,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    data: dict | None = None,
) -> None:
    record_event(
        verb=verb,
        subject_type="ticket",
        subject_id=ticket.pk,
        actor=actor,
        organization_id=ticket.organization_id,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data,
    )


def _require_agent(actor: User, what: str) -> None:
    if not is_agent(actor):
        raise Forbidden(f"Only support agents may {what}.")


def _locked(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, so two agents never act on a stale state."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _thread(ticket: Ticket) -> str:
    return f"ticket-{ticket.pk}"


def ticket_url(ticket: Ticket, *, for_contact: bool) -> str:
    path = "portal" if for_contact else "console"
    return f"{settings.BASE_URL}/{path}/tickets/{ticket.pk}/"


def do_create_ticket(
    *,
    subject: str,
    body: str,
    requester: User,
    actor: User,
    priority: str = Priority.NORMAL,
    channel: str = "web",
    emergency: bool = False,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> Ticket:
    subject, body = _check_new_ticket(subject, body, priority, requester, actor)
    # One transaction; inside a caller's, no savepoint of its own (two statements saved per
    # ticket): a failure here rolls the caller's block back, which mail intake's is for.
    with transaction.atomic(savepoint=False):
        return _open_ticket(
            subject=subject,
            body=body,
            requester=requester,
            actor=actor,
            priority=priority,
            channel=channel,
            emergency=emergency,
            attachments=attachments,
        )


def do_create_ticket_for_address(
    *,
    requester_email: str,
    subject: str,
    body: str,
    actor: User,
    priority: str = Priority.NORMAL,
    channel: str = "web",
) -> Ticket:
    """Staff open a ticket for an address: a new address becomes a contact in the same commit."""
    with transaction.atomic():
        requester = do_find_or_create_contact(email=requester_email)
        subject, body = _check_new_ticket(subject, body, priority, requester, actor)
        # Already inside this transaction: no savepoint of its own (do_create_ticket's).
        return _open_ticket(
            subject=subject,
            body=body,
            requester=requester,
            actor=actor,
            priority=priority,
            channel=channel,
        )


def _check_new_ticket(
    subject: str, body: str, priority: str, requester: User, actor: User
) -> tuple[str, str]:
    """The cleaned subject and body, once the rest of a new ticket is known to be valid."""
    subject = clean_line(subject, field="subject")
    body = clean_body(body)
    if priority not in Priority.values:
        raise InvalidInput(
            f"Unknown priority {priority!r}; choose one of: {', '.join(Priority.values)}."
        )
    if not requester.is_contact:
        raise InvalidInput(f"{requester.email} is staff; a ticket's requester is a customer.")
    if actor.is_contact and actor.pk != requester.pk:
        raise Forbidden("A contact can only open tickets for themselves.")
    return subject, body


def _open_ticket(
    *,
    subject: str,
    body: str,
    requester: User,
    actor: User,
    priority: str,
    channel: str,
    emergency: bool = False,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> Ticket:
    """The ticket, its first message and its event; the caller's transaction makes them one.

    Rows go in with `insert_row` (a prepared INSERT per model): a new ticket is the hottest
    write there is, and the ORM's building of each INSERT cost more than the writing.
    """
    now = timezone.now()
    # In a mail intake batch (core/batch.py) the ids are drawn ahead and the rows written with
    # the batch's others; elsewhere they go in at once.
    ticket = insert_row_later(
        Ticket(
            subject=subject,
            priority=priority,
            organization=requester.organization,
            requester=requester,
            channel=channel,
            emergency=emergency,
            created_at=now,
            updated_at=now,
            last_customer_message_at=now,
        ),
        needs_id=True,
    )
    first = insert_row_later(
        Message(
            ticket=ticket,
            author=requester,
            body=body,
            visibility=Visibility.PUBLIC,
            channel=channel,
            created_at=now,
        ),
        needs_id=True,
    )
    _attach(first, attachments)
    ticket.opening_message = first
    _record(
        ticket,
        "ticket.created",
        actor,
        to_state=Status.NEW,
        data={"priority": priority, "channel": channel, "requester": requester.email},
    )
    if emergency:
        # On-call subscribes to this and pages support at once.
        _record(
            ticket,
            "emergency_received",
            actor,
            data={"organization": ticket.organization.name if ticket.organization else ""},
        )
    return ticket


def _attach(message: Message, files: list[tuple[str, str, bytes]] | None) -> None:
    for filename, content_type, content in files or []:
        attachment = Attachment(
            message=message,
            filename=filename[:255] or "attachment",
            content_type=content_type[:127] or "application/octet-stream",
            size=len(content),
        )
        attachment.file.save(filename, ContentFile(content), save=False)
        attachment.save()


def do_claim_ticket(*, ticket: Ticket, actor: User) -> Ticket:
    _require_agent(actor, "claim tickets")
    with transaction.atomic():
        ticket = _locked(ticket)
        target = check_transition("claim", ticket.status, ticket_id=ticket.pk)
        previous = ticket.status
        ticket.status = target
        ticket.owner = actor
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["status", "owner", "updated_at"])
        ticket.followers.add(actor)
        _record(ticket, "ticket.claimed", actor, from_state=previous, to_state=target)
    return ticket


def do_assign_to_team(*, ticket: Ticket, team: Team, actor: User, note: str = "") -> Ticket:
    """Hand the ticket to a team; support stays owner and follower; the team's clock starts."""
    _require_agent(actor, "assign tickets to a team")
    if team.slug == SUPPORT_TEAM_SLUG:
        raise InvalidInput("The ticket is already with support; assign it to another team.")
    note = note.strip()
    with transaction.atomic():
        ticket = _locked(ticket)
        target = check_transition("assign", ticket.status, ticket_id=ticket.pk)
        if ticket.owner_id is None:
            raise InvalidInput(f"Ticket #{ticket.pk} has no owner; claim it before assigning it.")
        now = timezone.now()
        previous = ticket.status
        ticket.status = target
        ticket.team = team
        ticket.assigned_at = now
        ticket.response_due_at = now + timedelta(minutes=team.response_target_minutes)
        ticket.handoff_count += 1
        ticket.updated_at = now
        ticket.save(
            update_fields=[
                "status",
                "team",
                "assigned_at",
                "response_due_at",
                "handoff_count",
                "updated_at",
            ]
        )
        if note:
            Message.objects.create(
                ticket=ticket,
                author=actor,
                body=clean_body(f"Handed to {team.name}: {note}", field="note"),
                visibility=Visibility.INTERNAL,
                created_at=now,
            )
        _record(
            ticket,
            "ticket.assigned",
            actor,
            from_state=previous,
            to_state=target,
            note=note,
            data={
                "team": team.slug,
                "response_due_at": ticket.response_due_at.isoformat(),
                "handoff": ticket.handoff_count,
            },
        )
        do_queue_email(
            recipients=[member.email for member in members_of(team)],
            thread=_thread(ticket),
            kind="team_assigned",
            reply_to=team_address(team),
            subject=f"[#{ticket.pk}] Handed to {team.name}: {ticket.subject}",
            body=(
                f"{actor.display_name} handed ticket #{ticket.pk} to {team.name}.\n\n"
                f"Note: {note or '(none)'}\n\n"
                f"Please answer before {ticket.response_due_at:%Y-%m-%d %H:%M} UTC "
                f"({team.response_target_minutes} minutes). Reply to this mail to post for "
                f"{team.name}.\n\n{ticket_url(ticket, for_contact=False)}\n"
            ),
        )
    return ticket


def _check_may_post(ticket: Ticket, author: User, visibility: str) -> None:
    if author.is_contact:
        if visibility != Visibility.PUBLIC:
            raise Forbidden("Customers can only post public replies.")
        if ticket.status == Status.CLOSED:
            raise InvalidInput(f"Ticket #{ticket.pk} is closed; please open a new ticket.")
        return
    if is_agent(author):
        return
    if ticket.team_id is not None and ticket.team_id in team_ids_of(author):
        if ticket.status in (Status.WITH_TEAM, Status.RETURNED):
            return
    team_name = ticket.team.name if ticket.team else "no team"
    raise Forbidden(
        f"Ticket #{ticket.pk} is assigned to {team_name}; only support and that team may post on it."
    )


def do_post_message(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    visibility: str = Visibility.PUBLIC,
    channel: str = "web",
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> Message:
    """Post a reply or note. A team's post returns the ticket; a customer's re-opens it."""
    if visibility not in Visibility.values:
        raise InvalidInput(
            f"Unknown visibility {visibility!r}; choose one of: {', '.join(Visibility.values)}."
        )
    body = clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket)
        _check_may_post(ticket, author, visibility)
        now = timezone.now()
        message = Message.objects.create(
            ticket=ticket,
            author=author,
            body=body,
            visibility=visibility,
            channel=channel,
            created_at=now,
        )
        _attach(message, attachments)
        _record(
            ticket,
            "ticket.message_posted",
            author,
            data={"message": message.pk, "visibility": visibility, "channel": channel},
        )
        ticket.updated_at = now
        fields = ["updated_at"]
        if author.is_contact:
            ticket.last_customer_message_at = now
            fields.append("last_customer_message_at")
            if ticket.status in (Status.PENDING_CUSTOMER, Status.SOLVED):
                previous = ticket.status
                ticket.status = check_transition("customer-reply", previous, ticket_id=ticket.pk)
                ticket.solved_at = None
                fields += ["status", "solved_at"]
                _record(ticket, "ticket.reopened", author, from_state=previous, to_state="open")
            if ticket.owner is not None:
                do_queue_email(
                    recipients=[ticket.owner.email],
                    thread=_thread(ticket),
                    kind="customer_replied",
                    subject=f"[#{ticket.pk}] Customer replied: {ticket.subject}",
                    body=f"{author.display_name} wrote:\n\n{body}\n\n"
                    f"{ticket_url(ticket, for_contact=False)}\n",
                )
        elif (
            ticket.status == Status.WITH_TEAM
            and ticket.team is not None
            and ticket.team.pk in team_ids_of(author)
        ):
            team = ticket.team
            # The accountable team answered: the ticket goes back to its owner.
            ticket.status = check_transition("team-respond", ticket.status, ticket_id=ticket.pk)
            ticket.response_due_at = None
            fields += ["status", "response_due_at"]
            _record(
                ticket,
                "ticket.team_responded",
                author,
                from_state=Status.WITH_TEAM,
                to_state=Status.RETURNED,
                data={
                    "team": team.slug,
                    "minutes": round((now - ticket.assigned_at).total_seconds() / 60, 1)
                    if ticket.assigned_at
                    else None,
                },
            )
            if ticket.owner is not None:
                do_queue_email(
                    recipients=[ticket.owner.email],
                    thread=_thread(ticket),
                    kind="returned",
                    subject=f"[#{ticket.pk}] Returned by {team.name}: {ticket.subject}",
                    body=(
                        f"{author.display_name} ({team.name}) posted on ticket "
                        f"#{ticket.pk}; it is back with you.\n\n{body}\n\n"
                        f"{ticket_url(ticket, for_contact=False)}\n"
                    ),
                )
        ticket.save(update_fields=fields)
        if visibility == Visibility.PUBLIC and not author.is_contact:
            do_queue_email(
                recipients=[ticket.requester.email],
                thread=_thread(ticket),
                kind="public_reply",
                reply_to=settings.SUPPORT_ADDRESS,
                subject=f"[#{ticket.pk}] {ticket.subject}",
                body=(
                    f"{author.display_name} replied to your request:\n\n{body}\n\n"
                    f"See the whole conversation: {ticket_url(ticket, for_contact=True)}\n"
                ),
            )
    return message


def do_take_back(*, ticket: Ticket, actor: User, note: str = "") -> Ticket:
    _require_agent(actor, "take tickets back")
    with transaction.atomic():
        ticket = _locked(ticket)
        target = check_transition("take-back", ticket.status, ticket_id=ticket.pk)
        previous = ticket.status
        team_slug = ticket.team.slug if ticket.team else ""
        ticket.status = target
        ticket.team = None
        ticket.response_due_at = None
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["status", "team", "response_due_at", "updated_at"])
        _record(
            ticket,
            "ticket.taken_back",
            actor,
            from_state=previous,
            to_state=target,
            note=note,
            data={"team": team_slug},
        )
    return ticket


def do_set_pending(*, ticket: Ticket, actor: User, note: str = "") -> Ticket:
    _require_agent(actor, "set tickets pending")
    with transaction.atomic():
        ticket = _locked(ticket)
        target = check_transition("pending", ticket.status, ticket_id=ticket.pk)
        previous = ticket.status
        ticket.status = target
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["status", "updated_at"])
        _record(ticket, "ticket.pending", actor, from_state=previous, to_state=target, note=note)
    return ticket


def do_solve_ticket(
    *,
    ticket: Ticket,
    actor: User,
    resolution: str,
    decision: str,
    article: str = "",
    reason: str = "",
    category: str = "",
) -> Ticket:
    """Solve with a resolution and a documentation decision (linked / needed / not_needed).

    `linked` must name a published article; `needed` may name the category the missing article
    belongs in (its owner gets the documentation task; without one, the default category's)."""
    _require_agent(actor, "solve tickets")
    resolution = clean_body(resolution, field="resolution")
    if decision not in DocumentationDecision.values:
        raise InvalidInput(
            "A documentation decision is required: one of "
            f"{', '.join(DocumentationDecision.values)} (got {decision or 'nothing'!r})."
        )
    article = article.strip()
    reason = reason.strip()
    if decision == DocumentationDecision.LINKED:
        if not article:
            raise InvalidInput(
                "Decision 'linked' needs the article (its slug or id) that answered."
            )
        article = article_for_reference(clean_line(article, field="article", max_length=200)).slug
    category = category.strip()
    if decision == DocumentationDecision.NEEDED and category:
        category = category_by_slug(category).slug
    if decision == DocumentationDecision.NOT_NEEDED and not reason:
        raise InvalidInput("Decision 'not_needed' needs a reason.")
    with transaction.atomic():
        ticket = _locked(ticket)
        target = check_transition("solve", ticket.status, ticket_id=ticket.pk)
        previous = ticket.status
        now = timezone.now()
        ticket.status = target
        ticket.resolution = resolution
        ticket.documentation_decision = decision
        ticket.documentation_article = article if decision == DocumentationDecision.LINKED else ""
        ticket.documentation_reason = reason
        ticket.solved_at = now
        ticket.updated_at = now
        ticket.save(
            update_fields=[
                "status",
                "resolution",
                "documentation_decision",
                "documentation_article",
                "documentation_reason",
                "solved_at",
                "updated_at",
            ]
        )
        _record(
            ticket,
            "ticket.solved",
            actor,
            from_state=previous,
            to_state=target,
            note=reason,
            data={"decision": decision, "article": ticket.documentation_article},
        )
        if decision == DocumentationDecision.NEEDED:
            # The knowledge base subscribes to this and opens a documentation task.
            _record(
                ticket,
                "documentation.needed",
                actor,
                note=resolution[:2000],
                data={"subject": ticket.subject, "category": category or None},
            )
    return ticket


def do_reopen_ticket(*, ticket: Ticket, actor: User, note: str = "") -> Ticket:
    _require_agent(actor, "reopen tickets")
    with transaction.atomic():
        ticket = _locked(ticket)
        target = check_transition("reopen", ticket.status, ticket_id=ticket.pk)
        ticket.status = target
        ticket.solved_at = None
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["status", "solved_at", "updated_at"])
        _record(ticket, "ticket.reopened", actor, from_state=Status.SOLVED, to_state=target)
    return ticket


def do_close_ticket(*, ticket: Ticket, actor: User | None, note: str = "") -> Ticket:
    """Close a solved ticket (an agent, or the worker after the auto-close delay)."""
    if actor is not None:
        _require_agent(actor, "close tickets")
    with transaction.atomic():
        ticket = _locked(ticket)
        target = check_transition("close", ticket.status, ticket_id=ticket.pk)
        ticket.status = target
        ticket.closed_at = timezone.now()
        ticket.updated_at = ticket.closed_at
        ticket.save(update_fields=["status", "closed_at", "updated_at"])
        _record(
            ticket, "ticket.closed", actor, from_state=Status.SOLVED, to_state=target, note=note
        )
    return ticket


def do_record_missed_responses(*, now: datetime | None = None) -> int:
    """Record every team that let a response target pass; safe to run often and in parallel."""
    now = now or timezone.now()
    recorded = 0
    overdue = Ticket.objects.filter(
        status=Status.WITH_TEAM, response_due_at__lt=now, team__isnull=False
    ).filter(
        ~Exists(
            ResponseMiss.objects.filter(
                ticket=OuterRef("pk"), handoff_number=OuterRef("handoff_count")
            )
        )
    )
    for ticket in overdue.select_related("team")[:1000]:
        try:
            with transaction.atomic():
                ticket = _locked(ticket)
                if ticket.status != Status.WITH_TEAM or ticket.response_due_at is None:
                    continue  # the team answered (or support took it back) meanwhile
                if ticket.response_due_at >= now or ticket.team is None:
                    continue
                ResponseMiss.objects.create(
                    ticket=ticket,
                    team=ticket.team,
                    handoff_number=ticket.handoff_count,
                    due_at=ticket.response_due_at,
                    recorded_at=now,
                )
                _record(
                    ticket,
                    "ticket.team_response_missed",
                    None,
                    data={
                        "team": ticket.team.slug,
                        "due_at": ticket.response_due_at.isoformat(),
                        "handoff": ticket.handoff_count,
                    },
                )
        except IntegrityError:
            continue  # another worker recorded this miss first
        recorded += 1
    return recorded


def do_close_solved_tickets(*, now: datetime | None = None) -> int:
    """Close tickets solved more than AUTO_CLOSE_DAYS ago without a customer reply."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AUTO_CLOSE_DAYS)
    closed = 0
    for ticket in Ticket.objects.filter(status=Status.SOLVED, solved_at__lt=cutoff)[:1000]:
        do_close_ticket(ticket=ticket, actor=None, note="closed automatically")
        closed += 1
    return closed


def do_record_delivery_failure(
    *, ticket: Ticket, recipient: str, status: str, diagnostic: str
) -> None:
    """A mail about this ticket bounced: agents see it in the trail; nothing else changes."""
    with transaction.atomic():
        _record(
            ticket,
            "ticket.delivery_failed",
            None,
            note=diagnostic[:500],
            data={"recipient": recipient, "status": status},
        )


def do_link_documentation(*, ticket_id: int, article: str, actor: User | None) -> Ticket | None:
    """The article written for this ticket is published: the ticket now links to it."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None or ticket.documentation_article == article:
            return ticket
        ticket.documentation_article = article
        ticket.save(update_fields=["documentation_article"])
        _record(ticket, "documentation.linked", actor, data={"article": article})
    return ticket


@dataclass(frozen=True)
class ArticleAnswer:
    slug: str
    title: str
    url: str
    reply: str  # a public reply carrying the article's link, for the agent to send or edit


def do_answer_with_article(*, ticket: Ticket, actor: User, article: str) -> ArticleAnswer:
    """'Answer with this article': the article is linked to the ticket (solving it later
    defaults to 'linked' with this article) and a reply with its link is written for the agent
    to send. The ticket's state does not change."""
    _require_agent(actor, "answer tickets")
    chosen = article_for_reference(clean_line(article, field="article", max_length=200))
    if chosen.internal:
        raise InvalidInput(
            f"Article '{chosen.slug}' is internal: customers cannot read it; link a public one."
        )
    url = f"{settings.BASE_URL}/help/articles/{chosen.slug}/"
    first_name = (ticket.requester.display_name or "").split(" ")[0]
    reply = (
        f"Hi {first_name},\n\n" if first_name else "Hello,\n\n"
    ) + f"This article answers your question: {chosen.title}\n{url}\n"
    with transaction.atomic():
        _record(ticket, "ticket.article_linked", actor, data={"article": chosen.slug})
    return ArticleAnswer(slug=chosen.slug, title=chosen.title, url=url, reply=reply)
