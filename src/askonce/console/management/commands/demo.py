"""`askonce demo`: load the demo data (idempotent) and print the demo logins."""

from typing import Any

from django.core.management.base import BaseCommand

from askonce.console.demo import DEMO_PASSWORD, LOGINS, demo_is_needed, load_demo_data


class Command(BaseCommand):
    help = "Create the demo teams, staff, customers and a few tickets (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Only load when the database has no users."
        )

    def handle(self, *args: Any, if_empty: bool, **options: Any) -> None:
        if if_empty and not demo_is_needed():
            self.stdout.write("Database already has users; demo data not loaded.")
        elif load_demo_data():
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        else:
            self.stdout.write("Demo data already present.")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, email in LOGINS:
            self.stdout.write(f"  {email:<22} {role}")
