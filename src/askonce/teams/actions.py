"""Every write to teams and memberships."""

from django.db import transaction

from askonce.accounts.models import User
from askonce.core.errors import InvalidInput
from askonce.core.events import record_event
from askonce.core.text import clean_line
from askonce.teams.models import Membership, Team
from askonce.teams.queries import forget_team_addresses


def do_create_team(*, slug: str, name: str, response_target_minutes: int, email: str = "") -> Team:
    if response_target_minutes < 1:
        raise InvalidInput("A response target must be at least one minute.")
    if Team.objects.filter(slug=slug).exists():
        raise InvalidInput(f"A team with the slug {slug!r} already exists.")
    with transaction.atomic():
        team = Team.objects.create(
            slug=slug,
            name=clean_line(name, field="name", max_length=100),
            response_target_minutes=response_target_minutes,
            email=email,
        )
        transaction.on_commit(forget_team_addresses)
        record_event(
            verb="team.created",
            subject_type="team",
            subject_id=team.pk,
            data={"response_target_minutes": response_target_minutes},
        )
    return team


def do_add_member(*, team: Team, user: User) -> None:
    if not user.is_staff_member:
        raise InvalidInput(f"{user.email} is a customer contact; only staff can join a team.")
    with transaction.atomic():
        _, created = Membership.objects.get_or_create(team=team, user=user)
        if created:
            record_event(
                verb="team.member_added", subject_type="team", subject_id=team.pk, note=user.email
            )
