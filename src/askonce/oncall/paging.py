"""Every write to pages: trigger (or fold into the open page with the same dedup key),
acknowledge, resolve. The API, the CLI, agents, mailed links, monitoring tools and the events
of other domains (an emergency mail, a missed response target) all come through here.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from askonce.accounts.models import User
from askonce.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from askonce.core.events import record_event
from askonce.core.models import Event
from askonce.core.text import clean_body, clean_line
from askonce.oncall.escalation import start_escalation
from askonce.oncall.models import (
    OPEN_PAGE_STATES,
    EscalationPolicy,
    EscalationTimer,
    Page,
    PageLink,
    PageLinkAction,
    PageStatus,
    Urgency,
)
from askonce.oncall.notifications import LINK_MAX_AGE, announce, link_nonce
from askonce.oncall.queries import policy_for_team, ticket_brief
from askonce.oncall.transitions import check_transition
from askonce.teams.models import SUPPORT_TEAM_SLUG, Team
from askonce.teams.queries import team_by_slug

logger = logging.getLogger(__name__)

EMERGENCY_VERB = "emergency_received"
MISSED_RESPONSE_VERB = "ticket.team_response_missed"
# How far back the worker looks for paging events whose subscriber never ran (a crash, or a
# restart between commit and subscriber). Not further: a policy created today should not page
# for a miss of last week.
UNHANDLED_EVENTS_WINDOW = timedelta(hours=6)


class PageLinkError(DomainError):
    """A mailed link that cannot be used: not valid (400), or expired or used already (410)."""

    def __init__(self, message: str, *, status_code: int = 410) -> None:
        super().__init__(message)
        self.status_code = status_code


def _check_may_page(actor: User | None) -> None:
    """Staff page and answer pages; None is the system (events, monitoring tools, the CLI)."""
    if actor is None:
        return
    if not actor.is_authenticated or not actor.is_active or not actor.is_staff_member:
        raise Forbidden("Only staff can page, acknowledge or resolve pages.")


def _clean_dedup_key(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    return clean_line(value, field="dedup_key", max_length=255)


@dataclass(frozen=True)
class Triggered:
    page: Page
    created: bool  # False: folded into the open page with the same dedup key


def do_trigger_page(
    *,
    policy: EscalationPolicy,
    summary: str,
    actor: User | None,
    urgency: str = Urgency.HIGH,
    details: str = "",
    source: str = "",
    dedup_key: str = "",
    ticket_id: int | None = None,
    at_most_once: bool = False,
) -> Triggered:
    """Open a page and run its first escalation step, or count a repeat on the open page.

    `at_most_once`: a key that has ever had a page gets no other (one page per emergency mail
    or per missed target, however often the event is seen).
    """
    _check_may_page(actor)
    summary = clean_line(summary, field="summary", max_length=1024)
    details = clean_body(details, field="details") if details.strip() else ""
    if urgency not in Urgency.values:
        raise InvalidInput(f"urgency must be one of {', '.join(Urgency.values)}; got {urgency!r}.")
    dedup_key = _clean_dedup_key(dedup_key)
    source = " ".join(source.split())[:255]
    if ticket_id is not None and ticket_brief(ticket_id) is None:
        raise InvalidInput(f"There is no ticket #{ticket_id} to link the page to.")
    now = timezone.now()
    with transaction.atomic():
        if dedup_key:
            earlier = _earlier_page(policy, dedup_key, at_most_once=at_most_once)
            if earlier is not None:
                return Triggered(_repeat(earlier, actor, source, count=not at_most_once), False)
        try:
            with transaction.atomic():
                page = Page.objects.create(
                    policy=policy,
                    urgency=urgency,
                    summary=summary,
                    details=details,
                    source=source,
                    dedup_key=dedup_key,
                    ticket_id=ticket_id,
                    triggered_by=actor,
                    created_at=now,
                    last_triggered_at=now,
                )
        except IntegrityError:
            # A trigger with the same key committed between our look and our insert.
            earlier = _earlier_page(policy, dedup_key, at_most_once=at_most_once)
            if earlier is None:
                raise
            return Triggered(_repeat(earlier, actor, source, count=not at_most_once), False)
        record_event(
            verb="page.triggered",
            subject_type="page",
            subject_id=page.pk,
            actor=actor,
            to_state=PageStatus.TRIGGERED,
            note=summary[:500],
            data={
                "policy": policy.slug,
                "team": policy.team.slug,
                "urgency": urgency,
                "source": source,
                "dedup_key": dedup_key,
                "ticket": ticket_id,
            },
        )
        start_escalation(page, now)
        announce(page, "page.triggered", "triggered")
    return Triggered(page, True)


def _earlier_page(policy: EscalationPolicy, dedup_key: str, *, at_most_once: bool) -> Page | None:
    pages = Page.objects.select_for_update(of=("self",)).select_related("policy", "policy__team")
    if at_most_once:
        return pages.filter(policy=policy, dedup_key=dedup_key).order_by("-id").first()
    return pages.filter(policy=policy, dedup_key=dedup_key, status__in=OPEN_PAGE_STATES).first()


def _repeat(page: Page, actor: User | None, source: str, *, count: bool) -> Page:
    if not count:
        return page
    Page.objects.filter(pk=page.pk).update(
        trigger_count=F("trigger_count") + 1, last_triggered_at=timezone.now()
    )
    page.refresh_from_db(fields=["trigger_count", "last_triggered_at"])
    record_event(
        verb="page.repeated",
        subject_type="page",
        subject_id=page.pk,
        actor=actor,
        note=source,
        data={"trigger_count": page.trigger_count},
    )
    return page


def _change(page: Page, action: str, actor: User | None, via: str) -> Page:
    _check_may_page(actor)
    with transaction.atomic():
        locked = (
            Page.objects.select_for_update(of=("self",))
            .select_related("policy", "policy__team")
            .get(pk=page.pk)
        )
        before = locked.status
        after = check_transition(action, before, page_id=locked.pk)
        now = timezone.now()
        locked.status = after
        if after == PageStatus.ACKNOWLEDGED:
            locked.acknowledged_at, locked.acknowledged_by = now, actor
        else:
            locked.resolved_at, locked.resolved_by = now, actor
        locked.save(
            update_fields=[
                "status",
                "acknowledged_at",
                "acknowledged_by",
                "resolved_at",
                "resolved_by",
            ]
        )
        stopped = EscalationTimer.objects.filter(
            page=locked, status=EscalationTimer.Status.PENDING
        ).update(status=EscalationTimer.Status.CANCELLED, ran_at=now, note=f"{after} ({via})")
        record_event(
            verb=f"page.{after}",
            subject_type="page",
            subject_id=locked.pk,
            actor=actor,
            from_state=before,
            to_state=after,
            note=via,
            data={"steps_cancelled": stopped},
        )
        by = f" by {actor.email}" if actor is not None else f" ({via})" if via else ""
        announce(locked, f"page.{after}", f"{after}{by}")
    return locked


def do_acknowledge_page(*, page: Page, actor: User | None, via: str = "") -> Page:
    """Someone is on it: the escalation stops."""
    return _change(page, "acknowledge", actor, via)


def do_resolve_page(*, page: Page, actor: User | None, via: str = "") -> Page:
    """It is over: the escalation stops and the dedup key is free for a new page."""
    return _change(page, "resolve", actor, via)


def do_page_team(
    *,
    team: Team,
    actor: User,
    summary: str,
    ticket_id: int | None = None,
    details: str = "",
    urgency: str = Urgency.HIGH,
) -> Page:
    """An agent pages a team (from a ticket, usually); paging again while it is open counts once."""
    policy = policy_for_team(team)
    if policy is None:
        raise InvalidInput(
            f"{team.name} has no escalation policy, so nobody there can be paged. "
            "Create one first (POST /api/v1/escalation-policies)."
        )
    return do_trigger_page(
        policy=policy,
        summary=summary,
        actor=actor,
        urgency=urgency,
        details=details,
        source=f"paged by {actor.email}",
        dedup_key=f"ticket-{ticket_id}-page-{team.slug}" if ticket_id is not None else "",
        ticket_id=ticket_id,
    ).page


# Mailed links


def page_link_for(token: str) -> PageLink:
    """The link a token stands for, usable now; PageLinkError says why not, in plain words."""
    try:
        nonce = link_nonce(token)
    except signing.SignatureExpired:
        raise PageLinkError(
            f"This link has expired: links in page mails work for {LINK_MAX_AGE.days} days. "
            "Acknowledge or resolve the page in AskOnce instead."
        ) from None
    except signing.BadSignature:
        raise PageLinkError(
            "This link is not valid. Your mail program may have cut it short: copy the whole "
            "link from the mail into the address bar.",
            status_code=400,
        ) from None
    link = PageLink.objects.select_related("page", "user").filter(nonce=nonce).first()
    if link is None:
        raise PageLinkError("This link is not valid any more.", status_code=400)
    if link.used_at is not None:
        raise PageLinkError(
            f"This link was already used, at {link.used_at:%Y-%m-%d %H:%M} UTC; each link works "
            f"once. Page #{link.page_id} is now {link.page.status}."
        )
    return link


def do_use_page_link(*, token: str) -> Page:
    """Acknowledge or resolve a page from a mailed link, as the person it was sent to."""
    link = page_link_for(token)
    with transaction.atomic():
        # Marking the link used and changing the page commit together: a refused change
        # (the page was resolved meanwhile) leaves the link as it was.
        taken = PageLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not taken:
            raise PageLinkError("This link was used a moment ago; each link works once.")
        change = (
            do_acknowledge_page if link.action == PageLinkAction.ACKNOWLEDGE else do_resolve_page
        )
        return change(page=link.page, actor=link.user, via="mail link")


# Pages raised by other domains' events


@dataclass(frozen=True)
class _EventPage:
    policy: EscalationPolicy
    summary: str
    details: str
    urgency: str
    source: str
    dedup_key: str
    ticket_id: int


def _policy_of(team_slug: str) -> EscalationPolicy | None:
    try:
        return policy_for_team(team_by_slug(team_slug))
    except NotFound:
        return None


def _event_dedup_key(event: Event) -> str:
    if event.verb == EMERGENCY_VERB:
        return f"ticket-{event.subject_id}-emergency"
    # One page per miss: a ticket handed to the team again can be missed again.
    return f"ticket-{event.subject_id}-handoff-{event.data.get('handoff', 0)}-missed"


def _emergency_page(event: Event) -> _EventPage | None:
    policy = _policy_of(SUPPORT_TEAM_SLUG)
    brief = ticket_brief(event.subject_id)
    if policy is None or brief is None:
        return None
    customer = event.data.get("organization") or brief.organization or "a premium customer"
    return _EventPage(
        policy=policy,
        summary=f"Emergency from {customer}: {brief.subject}",
        details=brief.first_message,
        urgency=Urgency.HIGH,
        source="emergency mail",
        dedup_key=_event_dedup_key(event),
        ticket_id=brief.id,
    )


def _missed_response_page(event: Event) -> _EventPage | None:
    policy = _policy_of(str(event.data.get("team", "")))
    brief = ticket_brief(event.subject_id)
    if policy is None or brief is None:
        return None
    team = policy.team
    return _EventPage(
        policy=policy,
        summary=f"{team.name} missed its response target on ticket #{brief.id}: {brief.subject}",
        details=(
            f"Ticket #{brief.id} was handed to {team.name}, and nobody there posted an update "
            f"by {event.data.get('due_at', 'the target')} (UTC). Answer on the ticket."
        ),
        urgency=Urgency.LOW,
        source="missed response target",
        dedup_key=_event_dedup_key(event),
        ticket_id=brief.id,
    )


_PLANS = {EMERGENCY_VERB: _emergency_page, MISSED_RESPONSE_VERB: _missed_response_page}


def do_page_for_event(event: Event) -> Page | None:
    """The page an emergency mail or a missed target calls for, raised at most once."""
    plan = _PLANS[event.verb](event)
    if plan is None:
        logger.warning(
            "%s on ticket #%d pages nobody: the team has no escalation policy",
            event.verb,
            event.subject_id,
        )
        return None
    return do_trigger_page(
        policy=plan.policy,
        summary=plan.summary,
        actor=None,
        urgency=plan.urgency,
        details=plan.details,
        source=plan.source,
        dedup_key=plan.dedup_key,
        ticket_id=plan.ticket_id,
        at_most_once=True,
    ).page


def do_page_for_unhandled_events() -> int:
    """Raise the pages of recent paging events whose subscriber never ran (a crash after the
    event's commit); the worker runs this often. Returns how many pages it raised."""
    since = timezone.now() - UNHANDLED_EVENTS_WINDOW
    events = list(
        Event.objects.filter(verb__in=list(_PLANS), occurred_at__gte=since).order_by("id")
    )
    keys = {_event_dedup_key(event) for event in events}
    paged = set(Page.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
    raised = 0
    for event in events:
        if _event_dedup_key(event) in paged or _PLANS[event.verb](event) is None:
            continue  # paged already, or a team without a policy (warned about when it happened)
        do_page_for_event(event)
        raised += 1
    return raised
