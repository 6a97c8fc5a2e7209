"""How a page reaches people and tools: the mail with its signed single-use links, webhooks,
and each person's contact rules (high urgency: every method at once; low urgency: email).

Everything here is recorded in the caller's transaction and sent by the worker after commit,
so a step either notifies and is marked done, or neither.
"""

import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.utils import timezone

from askonce.accounts.models import User
from askonce.notify.actions import do_queue_email
from askonce.notify.queries import person_has_webhooks
from askonce.notify.webhooks import do_queue_webhooks
from askonce.oncall.models import (
    EscalationStep,
    Page,
    PageLink,
    PageLinkAction,
    StepKind,
    Urgency,
)

EMAIL, WEBHOOK = "email", "webhook"
# Each person's contact methods by urgency: their address, and their own webhook endpoints.
CONTACT_RULES: dict[str, tuple[str, ...]] = {
    Urgency.HIGH: (EMAIL, WEBHOOK),
    Urgency.LOW: (EMAIL,),
}
LINK_SALT = "askonce.oncall.page-link"
LINK_MAX_AGE = timedelta(days=7)
MAIL_DETAILS_LIMIT = 4000


def ticket_url(ticket_id: int) -> str:
    return f"{settings.BASE_URL}/console/tickets/{ticket_id}/"


def page_api_url(page: Page) -> str:
    return f"{settings.BASE_URL}/api/v1/pages/{page.pk}"


def new_page_link(page: Page, user: User, action: str) -> str:
    """A signed link that lets `user` do `action` to the page once, within LINK_MAX_AGE."""
    nonce = secrets.token_urlsafe(16)
    PageLink.objects.create(page=page, action=action, user=user, nonce=nonce)
    token = signing.TimestampSigner(salt=LINK_SALT).sign(nonce)
    return f"{settings.BASE_URL}/pages/link/{token}/"


def link_nonce(token: str) -> str:
    """The nonce inside a mailed link; raises signing.SignatureExpired or BadSignature."""
    return signing.TimestampSigner(salt=LINK_SALT).unsign(token, max_age=LINK_MAX_AGE)


def describe_step(step: EscalationStep) -> str:
    """Whom a step notifies, in words: 'whoever is on call in Support', 'Ada Admin'."""
    if step.kind == StepKind.SCHEDULE and step.schedule is not None:
        return f"whoever is on call in {step.schedule.name}"
    if step.kind == StepKind.TEAM and step.team is not None:
        return f"whoever is on call for {step.team.name}"
    return step.user.display_name if step.user is not None else "nobody"


def page_document(page: Page) -> dict[str, Any]:
    """The page as webhook receivers get it."""
    return {
        "page": {
            "id": page.pk,
            "status": page.status,
            "urgency": page.urgency,
            "summary": page.summary,
            "details": page.details,
            "source": page.source,
            "dedup_key": page.dedup_key,
            "trigger_count": page.trigger_count,
            "team": page.policy.team.slug,
            "policy": page.policy.slug,
            "ticket_id": page.ticket_id,
            "ticket_url": ticket_url(page.ticket_id) if page.ticket_id else None,
            "created_at": page.created_at.isoformat(),
            "acknowledged_by": page.acknowledged_by.email if page.acknowledged_by else None,
            "resolved_by": page.resolved_by.email if page.resolved_by else None,
            "url": page_api_url(page),
        }
    }


def page_text(page: Page, what: str) -> str:
    """One line for chat (Slack-format endpoints): `[high] Page #12 triggered: summary`."""
    text = f"[{page.urgency}] Page #{page.pk} {what}: {page.summary}"
    if page.ticket_id:
        text += f" <{ticket_url(page.ticket_id)}|ticket #{page.ticket_id}>"
    return text


def announce(page: Page, event: str, what: str) -> None:
    """Tell the shared webhook endpoints (team channels, incident tools) about a change."""
    do_queue_webhooks(event=event, data=page_document(page), text=page_text(page, what))


def _local_time(moment: datetime, person: User) -> str:
    utc = f"{moment:%Y-%m-%d %H:%M} UTC"
    try:
        zone = ZoneInfo(person.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return utc
    if zone.key == "UTC":
        return utc
    return f"{utc} ({moment.astimezone(zone):%H:%M} {zone.key})"


def _mail_body(page: Page, person: User, *, position: str, next_step: str) -> str:
    acknowledge = new_page_link(page, person, PageLinkAction.ACKNOWLEDGE)
    resolve = new_page_link(page, person, PageLinkAction.RESOLVE)
    lines = [
        page.summary,
        "",
        f"Urgency:  {page.urgency}",
        f"Team:     {page.policy.team.name} (policy: {page.policy.name})",
    ]
    if page.source:
        lines.append(f"Source:   {page.source}")
    if page.ticket_id:
        lines.append(f"Ticket:   #{page.ticket_id} {ticket_url(page.ticket_id)}")
    lines.append(f"Paged at: {_local_time(page.created_at, person)}")
    if page.details:
        details = page.details[:MAIL_DETAILS_LIMIT]
        if len(page.details) > MAIL_DETAILS_LIMIT:
            details += "\n[…]"
        lines += ["", details]
    lines += [
        "",
        "Acknowledge (stops the escalation):",
        acknowledge,
        "",
        "Resolve:",
        resolve,
        "",
        f"You are paged as {position}. {next_step}".strip(),
        f"Each link works once, for {LINK_MAX_AGE.days} days.",
    ]
    return "\n".join(lines) + "\n"


def notify_person(page: Page, person: User, *, position: str, next_step: str) -> list[str]:
    """Contact one person about the page by the methods its urgency calls for."""
    methods = CONTACT_RULES[page.urgency]
    used = []
    if EMAIL in methods:
        do_queue_email(
            recipients=[person.email],
            subject=f"[{page.urgency.upper()}] Page #{page.pk}: {page.summary}",
            body=_mail_body(page, person, position=position, next_step=next_step),
            thread=f"page-{page.pk}",
            kind="page",
        )
        used.append(EMAIL)
    if WEBHOOK in methods and person_has_webhooks(person):
        # The person's own device or chat: links to answer from there, theirs alone.
        acknowledge = new_page_link(page, person, PageLinkAction.ACKNOWLEDGE)
        resolve = new_page_link(page, person, PageLinkAction.RESOLVE)
        document = page_document(page)
        document.update(recipient=person.email, acknowledge_url=acknowledge, resolve_url=resolve)
        text = f"{page_text(page, 'for you')} <{acknowledge}|Acknowledge> <{resolve}|Resolve>"
        do_queue_webhooks(event="page.notify", data=document, text=text, user=person)
        used.append(WEBHOOK)
    return used


# Handoffs and ticket duty: plain notices, by mail and the person's own webhooks


def schedule_url(slug: str) -> str:
    return f"{settings.BASE_URL}/console/schedules/{slug}/"


def my_shifts_url() -> str:
    return f"{settings.BASE_URL}/console/my-shifts/"


def _notice(
    person: User, *, event: str, subject: str, body: str, data: dict[str, Any]
) -> list[str]:
    """Mail `person`, and post to their own webhooks if they have any; returns the methods."""
    do_queue_email(
        recipients=[person.email], subject=subject, body=body, kind=event.replace(".", "-")
    )
    used = [EMAIL]
    if person_has_webhooks(person):
        document = {**data, "recipient": person.email}
        do_queue_webhooks(event=event, data=document, text=subject, user=person)
        used.append(WEBHOOK)
    return used


def notify_shift_start(
    person: User,
    *,
    schedule_name: str,
    schedule_slug: str,
    start: datetime,
    end: datetime,
    layers: list[str],
    handing_over: User | None,
    ticket_duty: bool,
) -> list[str]:
    """Tell `person` their shift starts (or has just started): when, until when, from whom."""
    starts = "starts" if start > timezone.now() else "started"
    lines = [
        f"Your on-call shift in {schedule_name} {starts} at {_local_time(start, person)}",
        f"and runs until {_local_time(end, person)} ({', '.join(layers)}).",
    ]
    if handing_over is not None:
        lines.append(f"You take over from {handing_over.display_name} ({handing_over.email}).")
    if ticket_duty:
        lines += [
            "",
            "You are also on ticket duty: new unclaimed tickets are mailed to you, and the",
            "console shows you as on ticket duty to everyone.",
        ]
    lines += [
        "",
        f"Schedule:  {schedule_url(schedule_slug)}",
        f"My shifts: {my_shifts_url()}",
        "",
        "Pages for this schedule come to you by mail (and your own webhooks) until the shift ends.",
    ]
    return _notice(
        person,
        event="oncall.shift_starting",
        subject=f"On call in {schedule_name} from {start:%a %b %-d %H:%M} UTC",
        body="\n".join(lines) + "\n",
        data={
            "shift": {
                "schedule": schedule_slug,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "layers": layers,
                "ticket_duty": ticket_duty,
                "handing_over": handing_over.email if handing_over is not None else None,
            }
        },
    )


def notify_new_ticket(
    person: User,
    *,
    ticket_id: int,
    subject: str,
    organization: str,
    requester: str,
    first_message: str,
    schedule_name: str,
) -> list[str]:
    """Tell the person on ticket duty about a new unclaimed ticket."""
    customer = f"{requester} ({organization})" if organization else requester
    details = first_message[:MAIL_DETAILS_LIMIT]
    if len(first_message) > MAIL_DETAILS_LIMIT:
        details += "\n[…]"
    body = "\n".join(
        [
            f"A new ticket arrived while you are on ticket duty ({schedule_name}):",
            "",
            f"#{ticket_id} {subject}",
            f"From: {customer}",
            f"Open it: {ticket_url(ticket_id)}",
            "",
            details,
            "",
            "It waits in the Unclaimed queue until someone claims it.",
        ]
    )
    return _notice(
        person,
        event="oncall.ticket_duty",
        subject=f"[Ticket duty] New ticket #{ticket_id}: {subject}",
        body=body + "\n",
        data={
            "ticket": {
                "id": ticket_id,
                "subject": subject,
                "requester": requester,
                "organization": organization,
                "url": ticket_url(ticket_id),
            },
            "schedule": schedule_name,
        },
    )
