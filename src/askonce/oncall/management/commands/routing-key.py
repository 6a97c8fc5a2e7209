"""`askonce routing-key create --policy support --name prometheus`: a key for monitoring tools.

The key is printed once (alone on stdout); AskOnce keeps only its hash.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askonce.oncall.actions import do_create_routing_key, do_revoke_routing_key
from askonce.oncall.models import RoutingKey
from askonce.oncall.queries import policy_by_slug


class Command(BaseCommand):
    help = "Create, list or revoke routing keys for /v2/enqueue and the Alertmanager receiver."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it.")
        create.add_argument("--policy", required=True, help="The escalation policy's slug.")
        create.add_argument("--name", required=True, help="What sends with it: prometheus.")
        sub.add_parser("list", help="List keys (prefixes only).")
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            for row in RoutingKey.objects.select_related("policy").order_by("id"):
                state = "revoked" if row.revoked_at else "active"
                self.stdout.write(f"{row.prefix}…  {state}  {row.policy.slug}  {row.name}")
            return
        if action == "revoke":
            found = RoutingKey.objects.filter(prefix=options["prefix"], revoked_at=None).first()
            if found is None:
                raise CommandError(f"No active routing key starts with {options['prefix']!r}.")
            do_revoke_routing_key(routing_key=found, actor=None)
            self.stdout.write(f"Revoked {found.prefix}… ({found.name}).")
            return
        policy = policy_by_slug(options["policy"])
        if policy is None:
            raise CommandError(f"No escalation policy {options['policy']!r}.")
        row, key = do_create_routing_key(policy=policy, name=options["name"], actor=None)
        self.stderr.write(f"Routing key {row.name!r} for {policy.name} (shown once):")
        self.stdout.write(key)
