"""Seed N tickets fast (bulk_create through the ORM) into a demo database, for the queue benchmark.

Run with the app's settings: DJANGO_SETTINGS_MODULE=askonce.config.settings and the instance's
ASKONCE_DATA_DIR / DATABASE_URL (instance.py sets them). Usage: seed_tickets.py N

Status mix (like the peers' seed: 60 % open work, 20 % solved, 10 % closed): 30 % new, 30 % open,
5 % with a team (about half of them past their response target), 2 % returned, 3 % pending
customer, 20 % solved, 10 % closed. Every ticket has one public message from its requester and
one `ticket.created` event, as tickets created through the API do. Owners are ten agents (sam and
lena of the demo, eight more); 2,000 contacts, half of them in the two demo organizations.
"""

import os
import random
import sys
import time
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askonce.config.settings")
django.setup()

from django.core.management.color import no_style  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from askonce.accounts.models import Organization, User  # noqa: E402
from askonce.core.models import Event  # noqa: E402
from askonce.teams.models import SUPPORT_TEAM_SLUG, Membership, Team  # noqa: E402
from askonce.tickets.models import Message, Priority, Status, Ticket, Visibility  # noqa: E402

BATCH = 5000
CONTACTS = 2000
WORDS = (
    "printer network login password email laptop vpn screen keyboard account billing refund "
    "delivery order shipping update crash slow error access invoice cache certificate"
).split()
STATUS_SHARES = [
    (Status.NEW, 0.30),
    (Status.OPEN, 0.30),
    (Status.WITH_TEAM, 0.05),
    (Status.RETURNED, 0.02),
    (Status.PENDING_CUSTOMER, 0.03),
    (Status.SOLVED, 0.20),
    (Status.CLOSED, 0.10),
]
PRIORITY_SHARES = [
    (Priority.LOW, 0.20),
    (Priority.NORMAL, 0.60),
    (Priority.HIGH, 0.15),
    (Priority.URGENT, 0.05),
]


def pick(rnd: random.Random, shares: list[tuple[str, float]]) -> str:
    draw = rnd.random()
    for value, share in shares:
        draw -= share
        if draw < 0:
            return value
    return shares[-1][0]


def seed_people() -> tuple[list[User], list[User]]:
    """Ten agents who own tickets, and the contacts who ask."""
    support = Team.objects.get(slug=SUPPORT_TEAM_SLUG)
    extra = [
        User(email=f"agent{k}@example.com", full_name=f"Agent {k}", kind=User.Kind.STAFF)
        for k in range(8)
    ]
    for user in extra:
        user.set_unusable_password()
    User.objects.bulk_create(extra, ignore_conflicts=True)
    extra = list(User.objects.filter(email__startswith="agent", kind=User.Kind.STAFF))
    Membership.objects.bulk_create(
        [Membership(team=support, user=user) for user in extra], ignore_conflicts=True
    )
    agents = [*User.objects.filter(email__in=["sam@example.com", "lena@example.com"]), *extra]
    organizations = list(Organization.objects.all())
    contacts = []
    for k in range(CONTACTS):
        organization = organizations[k % len(organizations)] if k % 2 == 0 else None
        user = User(
            email=f"seed{k}@customer{k % 97}.example",
            full_name=f"Customer {k}",
            kind=User.Kind.CONTACT,
            organization=organization,
        )
        user.set_unusable_password()
        contacts.append(user)
    User.objects.bulk_create(contacts, ignore_conflicts=True)
    contacts = list(User.objects.filter(email__startswith="seed", kind=User.Kind.CONTACT))
    return agents, contacts


def seed(count: int) -> None:
    rnd = random.Random(42)
    agents, contacts = seed_people()
    teams = list(Team.objects.exclude(slug=SUPPORT_TEAM_SLUG))
    now = timezone.now()
    next_ticket_id = (Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    made = 0
    while made < count:
        tickets, messages, events = [], [], []
        for _ in range(min(BATCH, count - made)):
            ticket_id = next_ticket_id + made + len(tickets)
            created = now - timedelta(seconds=rnd.randint(60, 2 * 365 * 86400))
            updated = min(now, created + timedelta(seconds=rnd.randint(0, 3 * 86400)))
            status = pick(rnd, STATUS_SHARES)
            requester = rnd.choice(contacts)
            words = rnd.sample(WORDS, 3)
            ticket = Ticket(
                id=ticket_id,
                subject=f"{words[0].title()} {words[1]} problem {ticket_id}",
                status=status,
                priority=pick(rnd, PRIORITY_SHARES),
                organization_id=requester.organization_id,
                requester=requester,
                channel=rnd.choice(["web", "api", "email"]),
                created_at=created,
                updated_at=updated,
                last_customer_message_at=created,
            )
            if status != Status.NEW:
                ticket.owner = rnd.choice(agents)
            if status in (Status.WITH_TEAM, Status.RETURNED):
                team = rnd.choice(teams)
                ticket.team = team
                ticket.assigned_at = now - timedelta(minutes=rnd.randint(1, 3 * 60))
                ticket.handoff_count = 1
                if status == Status.WITH_TEAM:
                    ticket.response_due_at = now + timedelta(minutes=rnd.randint(-240, 240))
            if status in (Status.SOLVED, Status.CLOSED):
                ticket.solved_at = updated
                ticket.resolution = "Explained the setting; the customer confirmed it works."
                ticket.documentation_decision = "not_needed"
                ticket.documentation_reason = "One-off question."
            if status == Status.CLOSED:
                ticket.closed_at = updated
            tickets.append(ticket)
            messages.append(
                Message(
                    ticket_id=ticket_id,
                    author=requester,
                    body=f"Customer reports {' '.join(words)} issue. " * 5,
                    visibility=Visibility.PUBLIC,
                    channel=ticket.channel,
                    created_at=created,
                )
            )
            events.append(
                Event(
                    occurred_at=created,
                    verb="ticket.created",
                    actor=requester,
                    subject_type="ticket",
                    subject_id=ticket_id,
                    organization_id=requester.organization_id,
                    to_state=Status.NEW,
                    data={"priority": ticket.priority, "channel": ticket.channel},
                )
            )
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets, batch_size=1000)
            Message.objects.bulk_create(messages, batch_size=1000)
            Event.objects.bulk_create(events, batch_size=1000)
        made += len(tickets)
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Ticket, Message, Event]):
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            # Autovacuum would analyze the new rows soon after; do it now so runs agree.
            cursor.execute("ANALYZE")


def main() -> None:
    count = int(sys.argv[1])
    started = time.monotonic()
    seed(count)
    print(
        f"seeded {count} tickets in {time.monotonic() - started:.1f}s; "
        f"total={Ticket.objects.count()} on {connection.vendor}"
    )


if __name__ == "__main__":
    main()
