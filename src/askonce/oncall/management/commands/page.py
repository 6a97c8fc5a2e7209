"""`askonce page --team support "summary"`: page a team and print the page's id.

Also `askonce page --ack 12`, `askonce page --resolve 12` and `askonce page --list`.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askonce.accounts.models import User
from askonce.accounts.queries import user_by_email
from askonce.core.errors import DomainError
from askonce.oncall.models import OPEN_PAGE_STATES, EscalationPolicy, Page, Urgency
from askonce.oncall.paging import do_acknowledge_page, do_resolve_page, do_trigger_page
from askonce.oncall.queries import policy_by_slug, policy_for_team
from askonce.teams.queries import team_by_slug


class Command(BaseCommand):
    help = "Page a team (prints the page id), or acknowledge, resolve or list pages."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("summary", nargs="?", help="What is wrong, in one line.")
        parser.add_argument("--team", help="The team to page, by slug (through its policy).")
        parser.add_argument("--policy", help="An escalation policy's slug, instead of --team.")
        parser.add_argument("--details", default="", help="More text for the people paged.")
        parser.add_argument("--dedup-key", default="", help="Repeats with this key fold.")
        parser.add_argument("--urgency", choices=Urgency.values, default=Urgency.HIGH)
        parser.add_argument("--ticket", type=int, default=None, help="A ticket to link.")
        parser.add_argument("--as", dest="as_email", default="", help="Act as this staff member.")
        parser.add_argument("--ack", type=int, metavar="PAGE_ID", help="Acknowledge a page.")
        parser.add_argument("--resolve", type=int, metavar="PAGE_ID", help="Resolve a page.")
        parser.add_argument("--list", action="store_true", help="List the open pages.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["as_email"])
        try:
            if options["list"]:
                self._list()
            elif options["ack"] is not None or options["resolve"] is not None:
                self._answer(options, actor)
            else:
                self._trigger(options, actor)
        except DomainError as problem:
            raise CommandError(problem.message) from None

    def _actor(self, email: str) -> User | None:
        if not email:
            return None
        person = user_by_email(email)
        if person is None:
            raise CommandError(f"No user with the email {email!r}.")
        return person

    def _trigger(self, options: dict[str, Any], actor: User | None) -> None:
        if not options["summary"]:
            raise CommandError('Say what is wrong: askonce page --team support "summary".')
        policy: EscalationPolicy | None
        if options["policy"]:
            policy = policy_by_slug(options["policy"])
            if policy is None:
                raise CommandError(f"No escalation policy {options['policy']!r}.")
        elif options["team"]:
            team = team_by_slug(options["team"])
            policy = policy_for_team(team)
            if policy is None:
                raise CommandError(f"{team.name} has no escalation policy to page.")
        else:
            raise CommandError("Say whom to page: --team SLUG or --policy SLUG.")
        triggered = do_trigger_page(
            policy=policy,
            summary=options["summary"],
            details=options["details"],
            dedup_key=options["dedup_key"],
            urgency=options["urgency"],
            ticket_id=options["ticket"],
            source="cli",
            actor=actor,
        )
        page = triggered.page
        if not triggered.created:
            self.stderr.write(
                f"Folded into open page #{page.pk} ({page.status}, {page.trigger_count} triggers)."
            )
        self.stdout.write(str(page.pk))

    def _answer(self, options: dict[str, Any], actor: User | None) -> None:
        page_id = options["ack"] if options["ack"] is not None else options["resolve"]
        page = Page.objects.filter(pk=page_id).first()
        if page is None:
            raise CommandError(f"No page #{page_id}.")
        change = do_acknowledge_page if options["ack"] is not None else do_resolve_page
        page = change(page=page, actor=actor, via="cli")
        self.stdout.write(f"Page #{page.pk} {page.status}.")

    def _list(self) -> None:
        pages = Page.objects.select_related("policy__team").filter(status__in=OPEN_PAGE_STATES)
        for page in pages.order_by("-created_at")[:100]:
            self.stdout.write(
                f"#{page.pk}  {page.status:<12} {page.urgency:<4}  {page.policy.team.slug:<12} "
                f"{page.created_at:%Y-%m-%d %H:%M}  {page.summary}"
            )
