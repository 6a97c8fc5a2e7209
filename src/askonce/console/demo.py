"""Demo data: the people, teams and customers of the README's tour. Safe to run again."""

from django.db import transaction

from askonce.accounts.actions import do_create_organization, do_create_user
from askonce.accounts.models import Organization, Plan, User
from askonce.kb.demo import load_kb_demo
from askonce.oncall.demo import load_oncall_demo
from askonce.oncall.paging_demo import load_paging_demo
from askonce.teams.actions import do_add_member, do_create_team
from askonce.teams.models import Team
from askonce.tickets.actions import (
    do_assign_to_team,
    do_claim_ticket,
    do_create_ticket,
    do_post_message,
    do_solve_ticket,
)
from askonce.tickets.models import Ticket

DEMO_PASSWORD = "askonce-demo"

TEAMS = [
    ("support", "Support", 60),
    ("ops", "Operations", 120),
    ("neteng", "Network engineering", 120),
    ("finance", "Finance", 480),
    ("legal", "Legal", 1440),
    ("engineering", "Engineering", 240),
]

STAFF = [
    ("sam@example.com", "Sam Rivera", "support", "America/Los_Angeles", False),
    ("lena@example.com", "Lena Fischer", "support", "Europe/London", False),
    ("omar@example.com", "Omar Haddad", "ops", "America/New_York", False),
    ("nina@example.com", "Nina Kowalski", "neteng", "Europe/Berlin", False),
    ("fiona@example.com", "Fiona Walsh", "finance", "Europe/Dublin", False),
    ("leo@example.com", "Leo Martin", "legal", "America/Chicago", False),
    ("eve@example.com", "Eve Tanaka", "engineering", "Asia/Tokyo", False),
    ("admin@example.com", "Ada Admin", "support", "UTC", True),
]

ORGANIZATIONS = [
    ("Acme Streaming", Plan.PREMIUM, "acme.example", "alice@acme.example", "Alice Archer"),
    ("Bistro Maps", Plan.STANDARD, "bistro.example", "bob@bistro.example", "Bob Baker"),
]

LOGINS = [
    ("agent (support)", "sam@example.com"),
    ("agent (support)", "lena@example.com"),
    ("ops team member", "omar@example.com"),
    ("admin", "admin@example.com"),
    ("customer (premium)", "alice@acme.example"),
    ("customer (standard)", "bob@bistro.example"),
]


def demo_is_needed() -> bool:
    return not User.objects.exists()


def load_demo_data() -> bool:
    """Create whatever of the demo set is missing; returns True when anything was created."""
    created = False
    with transaction.atomic():
        for slug, name, minutes in TEAMS:
            if not Team.objects.filter(slug=slug).exists():
                do_create_team(
                    slug=slug,
                    name=name,
                    response_target_minutes=minutes,
                )
                created = True
        for email, name, team_slug, time_zone, admin in STAFF:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = do_create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    kind=User.Kind.STAFF,
                    full_name=name,
                    time_zone=time_zone,
                    is_admin=admin,
                )
                created = True
            do_add_member(team=Team.objects.get(slug=team_slug), user=user)
        for org_name, plan, domain, email, person in ORGANIZATIONS:
            organization = Organization.objects.filter(name=org_name).first()
            if organization is None:
                organization = do_create_organization(name=org_name, plan=plan, domains=[domain])
                created = True
            if not User.objects.filter(email=email).exists():
                do_create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    kind=User.Kind.CONTACT,
                    full_name=person,
                    organization=organization,
                )
                created = True
        if not Ticket.objects.exists():
            _demo_tickets()
            created = True
        created = load_oncall_demo() or created
        created = load_paging_demo() or created
        if load_kb_demo():
            _demo_documentation()
            created = True
    return created


def _demo_tickets() -> None:
    alice = User.objects.get(email="alice@acme.example")
    bob = User.objects.get(email="bob@bistro.example")
    sam = User.objects.get(email="sam@example.com")
    lena = User.objects.get(email="lena@example.com")
    omar = User.objects.get(email="omar@example.com")
    do_create_ticket(
        subject="Purging a URL does not refresh the edge cache",
        body="We purged /assets/app.js twenty minutes ago and still get the old file in Paris.",
        requester=alice,
        actor=alice,
        priority="high",
    )
    do_create_ticket(
        subject="How do I add a second billing contact?",
        body="Our accountant needs the invoices too. Where can I add her?",
        requester=bob,
        actor=bob,
    )
    waiting = do_create_ticket(
        subject="TLS handshake errors from our origin",
        body="Since 09:00 UTC about 2% of requests fail with a handshake error.",
        requester=alice,
        actor=alice,
        priority="urgent",
    )
    do_claim_ticket(ticket=waiting, actor=sam)
    do_assign_to_team(
        ticket=waiting, team=Team.objects.get(slug="ops"), actor=sam, note="Origin pool health?"
    )
    returned = do_create_ticket(
        subject="Stats show a traffic spike we did not expect",
        body="Yesterday 14:00-15:00 UTC our bandwidth tripled. Is this an attack?",
        requester=bob,
        actor=bob,
    )
    do_claim_ticket(ticket=returned, actor=lena)
    do_assign_to_team(ticket=returned, team=Team.objects.get(slug="ops"), actor=lena)
    do_post_message(
        ticket=returned,
        author=omar,
        body="Crawler from a search engine; nothing malicious. Rate limiting would cap it.",
        visibility="internal",
    )


def _demo_documentation() -> None:
    """Two solved tickets: one answered by an article, one that needs an article written (the
    knowledge base opens a task for Sam, who owns the caching category)."""
    bob = User.objects.get(email="bob@bistro.example")
    lena = User.objects.get(email="lena@example.com")
    answered = do_create_ticket(
        subject="Where do I download last month's invoice?",
        body="I cannot find the PDF for October.",
        requester=bob,
        actor=bob,
    )
    do_claim_ticket(ticket=answered, actor=lena)
    do_post_message(ticket=answered, author=lena, body="Account → Billing → Invoices has the PDF.")
    do_solve_ticket(
        ticket=answered,
        actor=lena,
        resolution="Pointed to the invoices page.",
        decision="linked",
        article="invoices",
    )
    needed = do_create_ticket(
        subject="How do I purge everything under /images/ at once?",
        body="We replaced all product images and need the old ones gone everywhere.",
        requester=bob,
        actor=bob,
    )
    do_claim_ticket(ticket=needed, actor=lena)
    do_post_message(
        ticket=needed,
        author=lena,
        body="Tag image responses with `Surrogate-Key: images` at your origin, then purge the "
        "key `images`: one call removes them all.",
    )
    do_solve_ticket(
        ticket=needed,
        actor=lena,
        resolution="Explained purging a path prefix with a surrogate key.",
        decision="needed",
        category="caching",
    )
