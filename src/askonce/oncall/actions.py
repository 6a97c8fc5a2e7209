"""Every write to schedules (creating them, adding and editing layers, adding, changing and
removing overrides) and to escalation policies and routing keys. Writes to pages are in `paging`,
calendar feeds in `feeds`, handoff notices in `handoffs`, ticket-duty notices in `ticket_duty`."""

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, time
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from askonce.accounts.models import User
from askonce.core.errors import Forbidden, InvalidInput
from askonce.core.events import record_event
from askonce.core.text import clean_line
from askonce.oncall.models import (
    EscalationPolicy,
    EscalationStep,
    Layer,
    LayerParticipant,
    Override,
    RoutingKey,
    Schedule,
    StepKind,
)
from askonce.oncall.queries import hash_routing_key
from askonce.oncall.rotation import (
    ShiftUnit,
    check_time_zone,
    parse_clock_time,
    parse_restrictions,
)
from askonce.oncall.ticket_duty import forget_ticket_duty
from askonce.teams.models import Team
from askonce.teams.queries import team_ids_of

MAX_SHIFT_COUNT = 1000
MAX_STEPS = 20
MAX_WAIT_MINUTES = 24 * 60
MAX_REPEATS = 10


@dataclass(frozen=True)
class LayerDraft:
    """The arguments of `do_add_layer`, for creating a schedule with its layers in one go."""

    name: str
    participants: Sequence[User]
    rotation_start: datetime
    shift_count: int = 1
    shift_unit: str = ShiftUnit.WEEKS.value
    handoff_time: time | str = "09:00"
    time_zone: str | None = None
    restrictions: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    priority: int | None = None
    ticket_duty: bool = False

    def as_arguments(self) -> dict[str, Any]:
        """The keyword arguments of `do_add_layer` (not `asdict`: that would copy the people)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


def _check_may_edit(actor: User | None, team: Team) -> None:
    """Members of the team and admins change its schedules; None is the system (demo, CLI)."""
    if actor is None:
        return
    if not actor.is_authenticated or not actor.is_staff_member:
        raise Forbidden("On-call schedules are for staff only.")
    if actor.is_superuser or team.pk in team_ids_of(actor):
        return
    raise Forbidden(
        f"Only members of {team.name} or an admin can change its on-call schedules and policies."
    )


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} needs a time zone offset, e.g. 2027-03-15T09:00:00Z.")
    return value


def _check_on_call_person(user: User) -> None:
    if not user.is_staff_member or not user.is_active:
        raise InvalidInput(
            f"{user.email} cannot be on call: only active staff members can be in a schedule."
        )


def _check_slug(slug: str) -> str:
    # Digits alone would read as an id in /schedules/{id-or-slug}.
    if not slug or slugify(slug) != slug or len(slug) > 50 or slug.isdigit():
        raise InvalidInput(
            "slug must be lower-case letters, digits and hyphens, at most 50 and not only "
            f"digits; got {slug!r}."
        )
    return slug


def _check_participants(layer_name: str, participants: Sequence[User]) -> None:
    if not participants:
        raise InvalidInput(f"Layer {layer_name!r} needs at least one participant.")
    for person in participants:
        _check_on_call_person(person)


def _check_shift_length(shift_count: int, shift_unit: str) -> None:
    if shift_unit not in ShiftUnit:
        units = ", ".join(unit.value for unit in ShiftUnit)
        raise InvalidInput(f"shift_unit must be one of {units}, got {shift_unit!r}.")
    if not 1 <= shift_count <= MAX_SHIFT_COUNT:
        raise InvalidInput(f"shift_count must be between 1 and {MAX_SHIFT_COUNT}.")


def _check_override(user: User, start: datetime, end: datetime, reason: str) -> str:
    _check_on_call_person(user)
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        raise InvalidInput(
            f"An override must end after it starts: end {end.isoformat()} is not after "
            f"start {start.isoformat()}."
        )
    reason = reason.strip()
    if len(reason) > 255:
        raise InvalidInput(f"reason is {len(reason)} characters long; the limit is 255.")
    return reason


def do_create_schedule(
    *,
    team: Team,
    name: str,
    time_zone: str,
    actor: User | None,
    slug: str = "",
    layers: Sequence[LayerDraft] = (),
) -> Schedule:
    _check_may_edit(actor, team)
    name = clean_line(name, field="name", max_length=100)
    zone = check_time_zone(time_zone)
    slug = _check_slug((slug or slugify(name)).strip())
    if Schedule.objects.filter(slug=slug).exists():
        raise InvalidInput(f"A schedule with the slug {slug!r} already exists.")
    with transaction.atomic():
        schedule = Schedule.objects.create(team=team, name=name, slug=slug, time_zone=zone.key)
        record_event(
            verb="oncall.schedule_created",
            subject_type="schedule",
            subject_id=schedule.pk,
            actor=actor,
            note=name,
            data={"team": team.slug, "slug": slug, "time_zone": zone.key},
        )
        for draft in layers:
            do_add_layer(schedule=schedule, actor=actor, **draft.as_arguments())
    return schedule


def do_add_layer(
    *,
    schedule: Schedule,
    name: str,
    participants: Sequence[User],
    rotation_start: datetime,
    shift_count: int,
    shift_unit: str,
    handoff_time: time | str,
    actor: User | None,
    time_zone: str | None = None,
    restrictions: Sequence[Mapping[str, Any]] = (),
    priority: int | None = None,
    ticket_duty: bool = False,
) -> Layer:
    """Add a rotation on top of the schedule's layers (or at `priority`, which must be free)."""
    _check_may_edit(actor, schedule.team)
    name = clean_line(name, field="name", max_length=100)
    zone = check_time_zone(time_zone or schedule.time_zone)
    _check_participants(name, participants)
    _aware(rotation_start, "rotation_start")
    _check_shift_length(shift_count, shift_unit)
    handoff = parse_clock_time(handoff_time, field_name="handoff_time")
    windows = parse_restrictions(list(restrictions))
    if priority is not None and priority < 1:
        raise InvalidInput("priority must be 1 or more (higher layers win).")
    with transaction.atomic():
        # Lock the schedule so two layers added at once cannot take the same priority.
        Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
        if schedule.layers.filter(name=name).exists():
            raise InvalidInput(f"Schedule {schedule.slug!r} already has a layer named {name!r}.")
        if priority is None:
            highest = schedule.layers.aggregate(highest=Max("priority"))["highest"]
            priority = (highest or 0) + 1
        elif schedule.layers.filter(priority=priority).exists():
            raise InvalidInput(
                f"Schedule {schedule.slug!r} already has a layer with priority {priority}."
            )
        layer = Layer.objects.create(
            schedule=schedule,
            name=name,
            priority=priority,
            time_zone=zone.key,
            rotation_start=rotation_start,
            shift_count=shift_count,
            shift_unit=shift_unit,
            handoff_time=handoff,
            restrictions=[window.as_json() for window in windows],
            ticket_duty=ticket_duty,
        )
        LayerParticipant.objects.bulk_create(
            LayerParticipant(layer=layer, user=person, position=position)
            for position, person in enumerate(participants)
        )
        record_event(
            verb="oncall.layer_added",
            subject_type="schedule",
            subject_id=schedule.pk,
            actor=actor,
            note=name,
            data={
                "layer": layer.pk,
                "priority": priority,
                "participants": [person.email for person in participants],
                "ticket_duty": ticket_duty,
            },
        )
        transaction.on_commit(forget_ticket_duty)
    return layer


def do_add_override(
    *,
    schedule: Schedule,
    user: User,
    start: datetime,
    end: datetime,
    actor: User | None,
    reason: str = "",
) -> Override:
    """Put `user` on call from `start` to `end`, above every layer (and older overrides)."""
    _check_may_edit(actor, schedule.team)
    reason = _check_override(user, start, end, reason)
    with transaction.atomic():
        override = Override.objects.create(
            schedule=schedule,
            user=user,
            start=start,
            end=end,
            reason=reason,
            created_by=actor,
        )
        record_event(
            verb="oncall.override_added",
            subject_type="schedule",
            subject_id=schedule.pk,
            actor=actor,
            note=reason,
            data={
                "override": override.pk,
                "user": user.email,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        transaction.on_commit(forget_ticket_duty)
    return override


def do_change_override(
    *,
    override: Override,
    user: User,
    start: datetime,
    end: datetime,
    actor: User | None,
    reason: str = "",
) -> Override:
    """Change who an override puts on call, and when."""
    schedule = override.schedule
    _check_may_edit(actor, schedule.team)
    reason = _check_override(user, start, end, reason)
    with transaction.atomic():
        locked = Override.objects.select_for_update().get(pk=override.pk)
        before = {
            "user": locked.user.email,
            "start": locked.start.isoformat(),
            "end": locked.end.isoformat(),
        }
        locked.user, locked.start, locked.end, locked.reason = user, start, end, reason
        locked.save(update_fields=["user", "start", "end", "reason"])
        record_event(
            verb="oncall.override_changed",
            subject_type="schedule",
            subject_id=schedule.pk,
            actor=actor,
            note=reason,
            data={
                "override": locked.pk,
                "before": before,
                "user": user.email,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        transaction.on_commit(forget_ticket_duty)
    return locked


def do_remove_override(*, override: Override, actor: User | None) -> None:
    """The layers decide again for the override's hours."""
    schedule = override.schedule
    _check_may_edit(actor, schedule.team)
    with transaction.atomic():
        record_event(
            verb="oncall.override_removed",
            subject_type="schedule",
            subject_id=schedule.pk,
            actor=actor,
            note=override.reason,
            data={
                "override": override.pk,
                "user": override.user.email,
                "start": override.start.isoformat(),
                "end": override.end.isoformat(),
            },
        )
        override.delete()
        transaction.on_commit(forget_ticket_duty)


def do_edit_layer(
    *,
    layer: Layer,
    actor: User | None,
    participants: Sequence[User] | None = None,
    shift_count: int | None = None,
    shift_unit: str | None = None,
    handoff_time: time | str | None = None,
    time_zone: str | None = None,
    restrictions: Sequence[Mapping[str, Any]] | None = None,
    ticket_duty: bool | None = None,
) -> Layer:
    """Change a layer; what is left None stays. The rotation is laid again from its start, so
    past shifts are redrawn too: for a one-off swap, add an override instead."""
    schedule = layer.schedule
    _check_may_edit(actor, schedule.team)
    changes: dict[str, Any] = {}
    if participants is not None:
        _check_participants(layer.name, participants)
    if shift_count is not None or shift_unit is not None:
        count = layer.shift_count if shift_count is None else shift_count
        unit = layer.shift_unit if shift_unit is None else shift_unit
        _check_shift_length(count, unit)
        changes.update(shift_count=count, shift_unit=unit)
    if handoff_time is not None:
        changes["handoff_time"] = parse_clock_time(handoff_time, field_name="handoff_time")
    if time_zone is not None:
        changes["time_zone"] = check_time_zone(time_zone).key
    if restrictions is not None:
        windows = parse_restrictions(list(restrictions))
        changes["restrictions"] = [window.as_json() for window in windows]
    if ticket_duty is not None:
        changes["ticket_duty"] = ticket_duty
    with transaction.atomic():
        locked = Layer.objects.select_for_update().get(pk=layer.pk)
        changed = {name: value for name, value in changes.items() if getattr(locked, name) != value}
        for name, value in changed.items():
            setattr(locked, name, value)
        if changed:
            locked.save(update_fields=list(changed))
        before = [
            row.user for row in locked.participants.select_related("user").order_by("position")
        ]
        if participants is not None and list(participants) != before:
            locked.participants.all().delete()
            LayerParticipant.objects.bulk_create(
                LayerParticipant(layer=locked, user=person, position=position)
                for position, person in enumerate(participants)
            )
            changed["participants"] = [person.email for person in participants]
        if changed:
            record_event(
                verb="oncall.layer_changed",
                subject_type="schedule",
                subject_id=schedule.pk,
                actor=actor,
                note=locked.name,
                data={
                    "layer": locked.pk,
                    **{
                        name: value if isinstance(value, str | int | bool | list) else str(value)
                        for name, value in changed.items()
                    },
                },
            )
            transaction.on_commit(forget_ticket_duty)
    return locked


@dataclass(frozen=True)
class StepDraft:
    """One step of a new policy: notify `target` (a Schedule, a User or a Team), then wait."""

    target: Schedule | User | Team
    wait_minutes: int = 0

    @property
    def kind(self) -> str:
        if isinstance(self.target, Schedule):
            return StepKind.SCHEDULE
        if isinstance(self.target, Team):
            return StepKind.TEAM
        return StepKind.USER


def do_create_escalation_policy(
    *,
    team: Team,
    name: str,
    steps: Sequence[StepDraft],
    actor: User | None,
    slug: str = "",
    repeat_count: int = 0,
) -> EscalationPolicy:
    """A policy for `team`: its steps run in order until someone acknowledges the page."""
    _check_may_edit(actor, team)
    name = clean_line(name, field="name", max_length=100)
    slug = _check_slug((slug or slugify(name)).strip())
    if not steps:
        raise InvalidInput("An escalation policy needs at least one step.")
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"An escalation policy can have at most {MAX_STEPS} steps.")
    for number, step in enumerate(steps, start=1):
        if not 0 <= step.wait_minutes <= MAX_WAIT_MINUTES:
            raise InvalidInput(
                f"Step {number}: wait_minutes must be between 0 and {MAX_WAIT_MINUTES}."
            )
        if step.kind == StepKind.USER:
            _check_on_call_person(step.target)  # type: ignore[arg-type]
    if not 0 <= repeat_count <= MAX_REPEATS:
        raise InvalidInput(f"repeat_count must be between 0 and {MAX_REPEATS}.")
    if repeat_count and steps[-1].wait_minutes < 1:
        # Otherwise every round would start the moment the last one ended.
        raise InvalidInput("A policy that repeats must wait at least a minute after its last step.")
    if EscalationPolicy.objects.filter(slug=slug).exists():
        raise InvalidInput(f"An escalation policy with the slug {slug!r} already exists.")
    with transaction.atomic():
        policy = EscalationPolicy.objects.create(
            team=team, name=name, slug=slug, repeat_count=repeat_count
        )
        EscalationStep.objects.bulk_create(
            EscalationStep(
                policy=policy,
                position=position,
                kind=step.kind,
                wait_minutes=step.wait_minutes,
                **{step.kind: step.target},
            )
            for position, step in enumerate(steps)
        )
        record_event(
            verb="oncall.policy_created",
            subject_type="escalation_policy",
            subject_id=policy.pk,
            actor=actor,
            note=name,
            data={
                "team": team.slug,
                "slug": slug,
                "repeat_count": repeat_count,
                "steps": [
                    {"kind": step.kind, "target": str(step.target), "wait": step.wait_minutes}
                    for step in steps
                ],
            },
        )
    return policy


def do_create_routing_key(
    *, policy: EscalationPolicy, name: str, actor: User | None
) -> tuple[RoutingKey, str]:
    """A new key for monitoring tools to page `policy` with; the key is returned only here."""
    _check_may_edit(actor, policy.team)
    name = clean_line(name, field="name", max_length=100)
    # 32 characters, like a PagerDuty integration key: some clients check the length.
    key = secrets.token_hex(16)
    with transaction.atomic():
        row = RoutingKey.objects.create(
            policy=policy, name=name, prefix=key[:6], key_hash=hash_routing_key(key)
        )
        record_event(
            verb="oncall.routing_key_created",
            subject_type="escalation_policy",
            subject_id=policy.pk,
            actor=actor,
            note=name,
            data={"routing_key": row.pk, "prefix": row.prefix},
        )
    return row, key


def do_record_routing_key_use(*, routing_key: RoutingKey) -> None:
    """Remember when a key was last used (at most every five minutes: it is on every event)."""
    now = timezone.now()
    last = routing_key.last_used_at
    if last is None or (now - last).total_seconds() > 300:
        RoutingKey.objects.filter(pk=routing_key.pk).update(last_used_at=now)


def do_revoke_routing_key(*, routing_key: RoutingKey, actor: User | None) -> RoutingKey:
    _check_may_edit(actor, routing_key.policy.team)
    with transaction.atomic():
        routing_key.revoked_at = timezone.now()
        routing_key.save(update_fields=["revoked_at"])
        record_event(
            verb="oncall.routing_key_revoked",
            subject_type="escalation_policy",
            subject_id=routing_key.policy_id,
            actor=actor,
            note=routing_key.name,
            data={"routing_key": routing_key.pk, "prefix": routing_key.prefix},
        )
    return routing_key
