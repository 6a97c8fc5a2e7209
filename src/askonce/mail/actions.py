"""Mail intake: every message becomes a ticket, a message on a ticket, or a stored row saying why not.

`do_receive_mail` is the one door for SMTP and IMAP alike. It commits before it returns, so the
SMTP server answers 250 (or IMAP flags the message) only for mail that is safely stored. A
transient fault (database locked or down, disk full) raises, and the caller answers 4xx.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from askonce.accounts.actions import do_get_or_create_contact
from askonce.accounts.models import Plan, User
from askonce.accounts.queries import people_looked_up, people_query
from askonce.core.batch import all_or_nothing, ids_query, insert_row_later, own_savepoint
from askonce.core.errors import DomainError
from askonce.core.rows import Query, find_row, rows_query, run_together
from askonce.mail import routing
from askonce.mail.models import InboundMail, Outcome
from askonce.mail.parsing import ParsedMail, parse_mail
from askonce.notify.actions import do_queue_email, mail_sent_together, thread_root_id
from askonce.notify.queries import mails_sent_recently, thread_of
from askonce.teams.queries import team_ids_of
from askonce.tickets.actions import (
    do_create_ticket,
    do_post_message,
    do_record_delivery_failure,
    ticket_url,
)
from askonce.tickets.models import Message, Priority, Status, Ticket, Visibility

logger = logging.getLogger(__name__)

_EARLIER = ("id", "outcome", "ticket_id")
_SUBJECT_TAG = re.compile(r"\[#(\d{1,12})\]")
_THREAD = re.compile(r"^ticket-(\d{1,12})@(.+)$")


@dataclass(frozen=True)
class Intake:
    """What happened to one message, and the SMTP reply that says so."""

    code: int
    text: str
    outcome: str
    inbound: InboundMail | int | None = None  # the stored row (its id once written), or its id
    ticket_id: int | None = None

    @property
    def smtp_reply(self) -> str:
        return f"{self.code} {self.text}"

    @property
    def inbound_id(self) -> int | None:
        return self.inbound.pk if isinstance(self.inbound, InboundMail) else self.inbound


class MailRejected(DomainError):
    """A message we will not take, for a reason the sender should read (SMTP 5xx)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


def dedup_key_for(parsed: ParsedMail, sha256: str) -> str:
    return f"mid:{parsed.message_id}"[:300] if parsed.message_id else f"sha:{sha256}"


def do_receive_mails(messages: list[dict[str, Any]]) -> list[Intake | Exception]:
    """Store messages that arrived together (`do_receive_mail`'s arguments each) in one
    transaction, and return each one's Intake or the exception it failed with.

    First all or nothing (core/batch.py): no savepoint per message, one look-up of the batch's
    duplicates and senders, and the rows nobody refers to written together at the end, about
    half the statements. If anything fails, that attempt is undone and the batch is stored
    again message by message, each in its own savepoint, so a bad message fails alone. If the
    commit fails, nothing of the batch is stored, and every message gets that error.
    """
    for message in messages:  # parsed and hashed once, whichever way the batch is stored
        if message.get("parsed") is None:
            message["parsed"] = parse_mail(message["raw"])
        if message.get("sha256") is None:
            message["sha256"] = hashlib.sha256(message["raw"]).hexdigest()
    try:
        if _refer_to_each_other(messages):
            # The later one threads to the earlier one's row, which all or nothing writes only
            # at the end: one by one instead.
            raise _OneByOne
        with transaction.atomic():
            # The batch's reads in one round trip on PostgreSQL: its duplicates, its senders,
            # and ids drawn ahead for what it may create — a message opens at most one ticket,
            # with its first message, for at most one new contact.
            earlier = _earlier_copies(messages)
            senders = [message["parsed"].from_address for message in messages]
            people = people_query(senders)
            ids = ids_query({model: len(messages) for model in (User, Ticket, Message)})
            run_together([earlier, people, ids])
            known = {row[0]: row[1:] for row in earlier.rows}
            with people_looked_up(senders, people), all_or_nothing(ids), mail_sent_together():
                outcomes: list[Intake | Exception] = [
                    do_receive_mail(**message, known_earlier=known) for message in messages
                ]
        return outcomes
    except Exception as error:
        logger.debug("storing %d message(s) at once failed (%r); one by one", len(messages), error)
    outcomes = []
    try:
        with transaction.atomic(), mail_sent_together():
            for message in messages:
                try:
                    outcomes.append(do_receive_mail(**message))  # in its own savepoint
                except Exception as error:
                    outcomes.append(error)
    except Exception as error:  # the commit failed: nothing of this batch is stored
        logger.exception("committing a batch of %d message(s) failed", len(messages))
        return [error] * len(messages)
    return outcomes


class _OneByOne(Exception):
    pass


def _refer_to_each_other(messages: list[dict[str, Any]]) -> bool:
    ids = {message["parsed"].message_id for message in messages} - {""}
    return any(
        ids.intersection([*message["parsed"].in_reply_to, *message["parsed"].references])
        for message in messages
    )


def _earlier_copies(messages: list[dict[str, Any]]) -> Query:
    """The query for the batch's messages already stored, by dedup key. Two copies of one
    message in the batch: the second is written as new and fails on the unique key, and the
    batch is stored again one by one, where it is found."""
    keys = [dedup_key_for(message["parsed"], message["sha256"]) for message in messages]
    return rows_query(InboundMail, "dedup_key", keys, ("dedup_key", *_EARLIER))


def do_receive_mail(
    *,
    raw: bytes,
    envelope_sender: str,
    recipients: list[str],
    channel: str,
    parsed: ParsedMail | None = None,
    sha256: str | None = None,
    known_earlier: dict[str, tuple[Any, ...]] | None = None,
) -> Intake:
    """Store and act on one message. Idempotent: the same message again changes nothing.

    `parsed` is `parse_mail(raw)` and `sha256` the hex SHA-256 of `raw` when the caller has
    them already (the SMTP server parses in a process of its own); `known_earlier`, the stored
    messages among a batch's, when the caller looked them up for all at once
    (`do_receive_mails`)."""
    routes = [route for route in map(routing.route_for, recipients) if route is not None]
    if not routes:
        raise MailRejected(550, f"5.1.1 No mailbox here for {', '.join(recipients)}")
    if sha256 is None:
        sha256 = hashlib.sha256(raw).hexdigest()
    if parsed is None:
        parsed = parse_mail(raw)
    dedup_key = dedup_key_for(parsed, sha256)
    route = routing.best_route(routes)
    try:
        # Every statement of this message in one savepoint (the only one of its own: callers in
        # a batch rely on it), so a message that fails, even on a read (PostgreSQL refuses some
        # bytes), rolls back only itself and never spoils the transaction of its batch. In an
        # all-or-nothing batch, no savepoint: a failure undoes the batch (core/batch.py).
        with transaction.atomic(savepoint=own_savepoint()):
            if known_earlier is None:
                earlier = find_row(InboundMail, "dedup_key", dedup_key, _EARLIER)
            else:
                earlier = known_earlier.get(dedup_key)
            if earlier is not None:
                return Intake(250, "2.0.0 Already received", earlier[1], earlier[0], earlier[2])
            inbound = InboundMail(
                channel=channel,
                dedup_key=dedup_key,
                message_id=parsed.message_id[:255],
                sha256=sha256,
                size=len(raw),
                envelope_sender=envelope_sender[:254],
                recipients=", ".join(recipients)[:5000],
                sender=parsed.from_address[:254],
                subject=parsed.subject,
                raw=raw,
            )
            intake = _act(inbound, parsed, route, envelope_sender)
            inbound.outcome = intake.outcome
            inbound.detail = intake.text
            insert_row_later(inbound)
    except IntegrityError:
        if not own_savepoint():
            raise  # the batch is undone and stored again one by one
        # The same message arrived twice at once (a retrying client); the other copy won.
        won = InboundMail.objects.filter(dedup_key=dedup_key).first()
        if won is None:
            raise
        return Intake(250, "2.0.0 Already received", won.outcome, won, won.ticket_id)
    return Intake(intake.code, intake.text, intake.outcome, inbound, intake.ticket_id)


def _act(inbound: InboundMail, parsed: ParsedMail, route: routing.Route, envelope: str) -> Intake:
    sender = parsed.from_address
    if sender in routing.our_addresses():
        return Intake(250, "2.0.0 Ignored: sent from one of our own addresses", Outcome.LOOP)
    # Over SMTP a null envelope sender marks a delivery report; IMAP has no envelope to tell.
    null_sender = envelope == "" and inbound.channel == "smtp"
    if parsed.bounce is not None or (null_sender and parsed.auto_reply):
        return _record_bounce(inbound, parsed)
    if parsed.auto_reply:
        return Intake(
            250, f"2.0.0 Ignored: automatic reply ({parsed.auto_reply})", Outcome.AUTO_REPLY
        )
    if not sender:
        raise MailRejected(550, "5.1.7 The message has no usable From address")

    ticket = _threaded_ticket(parsed)
    author, new_author = do_get_or_create_contact(
        email=parsed.from_address, full_name=parsed.from_name
    )
    if ticket is not None and ticket.status == Status.CLOSED and author.is_contact:
        return _open_ticket(inbound, parsed, author, route, new_author, follows=ticket)
    if ticket is not None and _may_reply(author, ticket, route):
        return _add_to_ticket(inbound, parsed, ticket, author, route)
    if author.is_staff_member:
        raise MailRejected(
            550, "5.7.1 Staff mail must answer a ticket's notification; this one matches none"
        )
    return _open_ticket(inbound, parsed, author, route, new_author, claimed=ticket)


def _subject(parsed: ParsedMail) -> str:
    subject = parsed.subject
    if not subject.isprintable():
        subject = "".join(ch for ch in subject if ch.isprintable())
    return subject.strip() or "(no subject)"


def _threaded_ticket(parsed: ParsedMail) -> Ticket | None:
    """The ticket this mail answers: by its headers first, then by a `[#id]` subject tag."""
    message_ids = [*parsed.in_reply_to, *parsed.references]
    ticket_id = None
    for message_id in message_ids:
        match = _THREAD.match(message_id)
        if match and match.group(2) == settings.MAIL_DOMAIN:
            ticket_id = int(match.group(1))
            break
    if ticket_id is None:
        thread = thread_of(message_ids)
        if thread.startswith("ticket-"):
            ticket_id = int(thread.removeprefix("ticket-"))
    if ticket_id is None and message_ids:
        earlier = (
            InboundMail.objects.filter(message_id__in=message_ids, ticket__isnull=False)
            .values_list("ticket_id", flat=True)
            .first()
        )
        ticket_id = earlier
    if ticket_id is None:
        tag = _SUBJECT_TAG.search(parsed.subject)
        ticket_id = int(tag.group(1)) if tag else None
    if ticket_id is None:
        return None
    return Ticket.objects.select_related("team", "owner", "requester").filter(pk=ticket_id).first()


def _may_reply(author: User, ticket: Ticket, route: routing.Route) -> bool:
    """Only people on the ticket may add to it by mail; a forged header or tag gets a new ticket."""
    if author.is_contact:
        if route.kind == routing.EMERGENCY:
            return False
        same_organization = (
            ticket.organization_id is not None and author.organization_id == ticket.organization_id
        )
        return author.pk == ticket.requester_id or same_organization
    if route.kind == routing.TEAM and route.team is not None:
        return ticket.team_id == route.team.pk and route.team.pk in team_ids_of(author)
    return author.pk == ticket.owner_id or ticket.followers.filter(pk=author.pk).exists()


def _add_to_ticket(
    inbound: InboundMail, parsed: ParsedMail, ticket: Ticket, author: User, route: routing.Route
) -> Intake:
    visibility = Visibility.PUBLIC if author.is_contact else Visibility.INTERNAL
    message = do_post_message(
        ticket=ticket,
        author=author,
        body=_readable_body(parsed),
        visibility=visibility,
        channel="email",
        attachments=_files(parsed),
    )
    inbound.ticket = ticket
    inbound.ticket_message = message
    return Intake(
        250, f"2.0.0 Ok: added to ticket #{ticket.pk}", Outcome.MESSAGE_ADDED, ticket_id=ticket.pk
    )


def _open_ticket(
    inbound: InboundMail,
    parsed: ParsedMail,
    requester: User,
    route: routing.Route,
    new_requester: bool,
    *,
    claimed: Ticket | None = None,
    follows: Ticket | None = None,
) -> Intake:
    emergency = False
    explanation = ""
    if route.kind == routing.EMERGENCY:
        premium = requester.organization is not None and requester.organization.plan == Plan.PREMIUM
        if premium and not parsed.authentication_failed:
            emergency = True
        elif premium:
            explanation = (
                "Your message reached our emergency line, but the receiving server could not "
                f"verify that it came from your domain ({parsed.authentication_failed}), so it "
                "was opened as a normal ticket. Call your account contact if this is urgent."
            )
        else:
            explanation = (
                "The emergency line pages our on-call engineers and is part of the premium plan. "
                "We opened your message as a normal ticket and will answer it as soon as we can."
            )
    body = _readable_body(parsed)
    if claimed is not None:
        body += f"\n\n(This mail referred to ticket #{claimed.pk}, which its sender is not on.)"
    if follows is not None:
        body += f"\n\n(A reply to ticket #{follows.pk}, which is closed.)"
    ticket = do_create_ticket(
        subject=_subject(parsed),
        body=body,
        requester=requester,
        actor=requester,
        priority=Priority.URGENT if emergency else Priority.NORMAL,
        channel="email",
        emergency=emergency,
        attachments=_files(parsed),
    )
    inbound.ticket = ticket
    inbound.ticket_message = ticket.opening_message
    _acknowledge(ticket, requester, explanation, new_requester)
    return Intake(
        250, f"2.0.0 Ok: ticket #{ticket.pk}", Outcome.TICKET_CREATED, ticket_id=ticket.pk
    )


def _acknowledge(ticket: Ticket, requester: User, explanation: str, new_requester: bool) -> None:
    kind = "explanation" if explanation else "acknowledgement"
    if (
        not explanation
        and not new_requester  # a contact created by this mail has had no mail from us
        and mails_sent_recently(recipient=requester.email, kind=kind)
        >= settings.ACKNOWLEDGEMENTS_PER_HOUR
    ):
        return  # a flood from one sender gets no flood of answers
    do_queue_email(
        recipients=[requester.email],
        thread=f"ticket-{ticket.pk}",
        kind=kind,
        reply_to=settings.SUPPORT_ADDRESS,
        subject=f"[#{ticket.pk}] {ticket.subject}",
        body=(
            (explanation + "\n\n" if explanation else "")
            + f"We received your request and opened ticket #{ticket.pk}. Reply to this mail to "
            f"add to it.\n\n{ticket_url(ticket, for_contact=True)}\n"
        ),
    )


def _record_bounce(inbound: InboundMail, parsed: ParsedMail) -> Intake:
    bounce = parsed.bounce
    original = bounce.original_message_id if bounce else ""
    thread = thread_of([original, *parsed.in_reply_to, *parsed.references])
    ticket = None
    if thread.startswith("ticket-"):
        ticket = Ticket.objects.filter(pk=int(thread.removeprefix("ticket-"))).first()
    if ticket is None:
        return Intake(250, "2.0.0 Delivery report kept; it matches no ticket", Outcome.BOUNCE)
    do_record_delivery_failure(
        ticket=ticket,
        recipient=bounce.recipient if bounce else "",
        status=bounce.status if bounce else "",
        diagnostic=bounce.diagnostic if bounce else parsed.subject,
    )
    inbound.ticket = ticket
    return Intake(
        250,
        f"2.0.0 Delivery failure recorded on ticket #{ticket.pk}",
        Outcome.BOUNCE,
        ticket_id=ticket.pk,
    )


def _readable_body(parsed: ParsedMail) -> str:
    body = parsed.body or parsed.full_body
    if not body.strip():
        body = "(This mail had no text; see the attachments.)" if parsed.attachments else "(empty)"
    return body[: settings.MAX_MESSAGE_CHARS]


def _files(parsed: ParsedMail) -> list[tuple[str, str, bytes]]:
    return [(a.filename, a.content_type, a.content) for a in parsed.attachments]


def do_store_unprocessable_mail(
    *, raw: bytes, envelope_sender: str, recipients: list[str], channel: str, error: str
) -> InboundMail:
    """Keep a message that intake failed on, for an admin to look at and process again."""
    sha256 = hashlib.sha256(raw).hexdigest()
    inbound, _ = InboundMail.objects.get_or_create(
        dedup_key=f"sha:{sha256}",
        defaults={
            "channel": channel,
            "sha256": sha256,
            "size": len(raw),
            "envelope_sender": envelope_sender[:254],
            "recipients": ", ".join(recipients)[:5000],
            "outcome": Outcome.REJECTED,
            "detail": error[:5000],
            "raw": raw,
        },
    )
    return inbound


def thread_message_id(ticket: Ticket) -> str:
    return thread_root_id(f"ticket-{ticket.pk}")


def do_reprocess_mail(*, inbound: InboundMail) -> Intake | None:
    """Run a kept (rejected) message through intake again, after a fix; None if it fails again."""
    raw = bytes(inbound.raw)
    recipients = [address.strip() for address in inbound.recipients.split(",") if address.strip()]
    with transaction.atomic():
        InboundMail.objects.filter(pk=inbound.pk, outcome=Outcome.REJECTED).delete()
        try:
            return do_receive_mail(
                raw=raw,
                envelope_sender=inbound.envelope_sender,
                recipients=recipients,
                channel=inbound.channel,
            )
        except DomainError:
            transaction.set_rollback(True)
            return None
