"""`askonce token create --email E`: print a new API token (alone on the last line)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askonce.accounts.actions import do_create_api_token, do_revoke_api_token
from askonce.accounts.models import ApiToken
from askonce.accounts.queries import user_by_email


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it.")
        create.add_argument("--email", required=True, help="The user the token acts as.")
        create.add_argument("--name", default="", help="What the token is for.")
        listing = sub.add_parser("list", help="List a user's tokens (prefixes only).")
        listing.add_argument("--email", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "revoke":
            token = ApiToken.objects.filter(prefix=options["prefix"], revoked_at=None).first()
            if token is None:
                raise CommandError(f"No active token starts with {options['prefix']!r}.")
            do_revoke_api_token(token=token)
            self.stdout.write(f"Revoked {token.prefix}… of {token.user.email}.")
            return
        user = user_by_email(options["email"])
        if user is None:
            raise CommandError(
                f"No user with the email {options['email']!r}; create one with `askonce user create`."
            )
        if action == "list":
            for token in user.api_tokens.order_by("id"):
                state = "revoked" if token.revoked_at else "active"
                self.stdout.write(f"{token.prefix}…  {state}  {token.name}  {token.created_at:%F}")
            return
        _, secret = do_create_api_token(user=user, name=options["name"])
        self.stderr.write(f"Token for {user.email} (shown once; keep it secret):")
        self.stdout.write(secret)
