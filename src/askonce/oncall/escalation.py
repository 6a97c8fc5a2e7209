"""Escalation: each step of each page runs once, when it is due, whatever the worker goes through.

A step is an `EscalationTimer` row, unique per (page, round, step). The worker takes a due row
under a lock (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite the IMMEDIATE
transaction holds the one write lock) and, in the same transaction, queues the notifications,
marks the row done and creates the next step's row. A worker killed before the commit leaves
the step pending for the next worker; after it, the step is done and its mail is queued.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from askonce.accounts.models import User
from askonce.core.events import record_event
from askonce.oncall.models import EscalationStep, EscalationTimer, Page, PageStatus, StepKind
from askonce.oncall.notifications import announce, describe_step, notify_person
from askonce.oncall.queries import policy_steps, team_schedules, who_is_on_call

logger = logging.getLogger(__name__)

# Rows one worker pass runs at most, so a backlog cannot keep the worker from its other jobs.
BATCH_LIMIT = 500


def people_for_step(step: EscalationStep, at: datetime) -> list[User]:
    """Who a step reaches at `at`: a person, or whoever is on call (nobody is a possible answer)."""
    if step.kind == StepKind.USER:
        return [step.user] if step.user is not None and step.user.is_active else []
    if step.kind == StepKind.SCHEDULE:
        schedules = [step.schedule] if step.schedule is not None else []
    else:
        schedules = team_schedules(step.team) if step.team is not None else []
    people: list[User] = []
    for schedule in schedules:
        person = who_is_on_call(schedule, at)
        if person is not None and person.is_active and person not in people:
            people.append(person)
    return people


def start_escalation(page: Page, now: datetime) -> None:
    """In the trigger's transaction: the first step (and any due with it) runs with the page."""
    EscalationTimer.objects.create(page=page, round=0, step_index=0, due_at=now)
    for _ in range(BATCH_LIMIT):
        timer = (
            EscalationTimer.objects.filter(
                page=page, status=EscalationTimer.Status.PENDING, due_at__lte=now
            )
            .order_by("round", "step_index")
            .first()
        )
        if timer is None:
            return
        run_timer(timer, page, now)


def run_due_timers(*, limit: int = BATCH_LIMIT) -> int:
    """Run every step that is due, one transaction each; safe in several workers at once."""
    ran = 0
    while ran < limit:
        with transaction.atomic():
            now = timezone.now()
            timer = (
                EscalationTimer.objects.select_for_update(skip_locked=True)
                .filter(status=EscalationTimer.Status.PENDING, due_at__lte=now)
                .order_by("due_at", "id")
                .first()
            )
            if timer is None:
                return ran
            page = Page.objects.select_related("policy", "policy__team").get(pk=timer.page_id)
            run_timer(timer, page, now)
        ran += 1
    return ran


def _next_position(timer: EscalationTimer, step_count: int, repeats: int) -> tuple[int, int] | None:
    """(round, step index) after `timer`, or None when the last round's last step has run."""
    if timer.step_index + 1 < step_count:
        return timer.round, timer.step_index + 1
    if timer.round + 1 <= repeats:
        return timer.round + 1, 0
    return None


def _close(timer: EscalationTimer, status: str, now: datetime, note: str) -> None:
    timer.status = status
    timer.ran_at = now
    timer.note = note[:255]
    timer.save(update_fields=["status", "ran_at", "note", "notified"])


def run_timer(timer: EscalationTimer, page: Page, now: datetime) -> None:
    """Run one pending step of `page` (the caller holds the row): notify, then plan the next."""
    if page.status != PageStatus.TRIGGERED:
        # Acknowledging cancels the pending steps; this one was created while it happened.
        _close(timer, EscalationTimer.Status.CANCELLED, now, f"the page was {page.status}")
        return
    steps = policy_steps(page.policy)
    if timer.step_index >= len(steps):
        _close(timer, EscalationTimer.Status.CANCELLED, now, "the policy has fewer steps now")
        return
    step = steps[timer.step_index]
    people = people_for_step(step, now)
    following = _next_position(timer, len(steps), page.policy.repeat_count)
    # Nobody to reach: go on to the next step at once instead of waiting on silence.
    wait = timedelta(minutes=step.wait_minutes) if people else timedelta(0)
    next_step = ""
    if following is not None:
        minutes = int(wait.total_seconds() // 60)
        later = f"within {minutes} minutes" if minutes else "at once"
        next_step = (
            f"If nobody acknowledges {later}, the page goes to "
            f"{describe_step(steps[following[1]])}."
        )
    position = f"step {timer.step_index + 1} of {len(steps)}"
    if timer.round:
        position += f", repeat {timer.round} of {page.policy.repeat_count}"
    for person in people:
        notify_person(page, person, position=position, next_step=next_step)
    timer.notified = [person.email for person in people]
    _close(
        timer,
        EscalationTimer.Status.DONE,
        now,
        "" if people else f"nobody to notify ({describe_step(step)})",
    )
    record_event(
        verb="page.notified",
        subject_type="page",
        subject_id=page.pk,
        note=", ".join(timer.notified) or "nobody was on call",
        data={"round": timer.round, "step": timer.step_index + 1, "notified": timer.notified},
    )
    if timer.round or timer.step_index:
        announce(page, "page.escalated", f"escalated to {', '.join(timer.notified) or 'nobody'}")
    if following is None:
        record_event(
            verb="page.escalation_finished",
            subject_type="page",
            subject_id=page.pk,
            note="every step has run; the page stays triggered until someone acknowledges it",
        )
        return
    next_round, next_index = following
    # Only the runner of this step (holding its row) creates the next: the unique key would
    # turn a second creation into an error that rolls this step back, never into a second run.
    EscalationTimer.objects.create(
        page=page, round=next_round, step_index=next_index, due_at=now + wait
    )
    if not people:
        logger.warning("page #%d: nobody to notify (%s)", page.pk, describe_step(step))
