"""`askonce user create`: add a staff member, an admin, or a customer contact."""

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askonce.accounts.actions import do_create_user
from askonce.accounts.models import Organization, User
from askonce.core.errors import DomainError
from askonce.teams.actions import do_add_member
from askonce.teams.queries import team_by_slug


class Command(BaseCommand):
    help = "Create users."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a user.")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="")
        create.add_argument("--password", help="Asked for when omitted (on a terminal).")
        create.add_argument(
            "--contact-of",
            metavar="ORGANIZATION",
            help="Make a customer contact of this organization (by name) instead of staff.",
        )
        create.add_argument(
            "--team", action="append", default=[], help="Team slug to join (repeatable)."
        )
        create.add_argument("--admin", action="store_true", help="Grant every permission.")
        create.add_argument("--time-zone", default="UTC")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        password = options["password"]
        if password is None:
            password = getpass.getpass(f"Password for {options['email']}: ")
        organization = None
        if options["contact_of"]:
            organization = Organization.objects.filter(name=options["contact_of"]).first()
            if organization is None:
                raise CommandError(f"No organization named {options['contact_of']!r}.")
        try:
            teams = [team_by_slug(slug) for slug in options["team"]]
            user = do_create_user(
                email=options["email"],
                password=password,
                kind=User.Kind.CONTACT if organization else User.Kind.STAFF,
                full_name=options["name"],
                organization=organization,
                time_zone=options["time_zone"],
                is_admin=options["admin"],
            )
            for team in teams:
                do_add_member(team=team, user=user)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Created {user.kind} {user.email}.")
