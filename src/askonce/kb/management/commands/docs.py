"""`askonce docs import DIR` / `askonce docs export DIR`: the knowledge base as Markdown files."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askonce.accounts.queries import user_by_email
from askonce.kb.docs_as_code import ImportRefused, export_folder, import_folder


class Command(BaseCommand):
    help = "Import or export the knowledge base as a folder of Markdown files with front matter."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        importing = sub.add_parser("import", help="Create or update articles from a folder.")
        importing.add_argument("folder", type=Path)
        importing.add_argument("--as", dest="actor", default="", help="Staff email to record.")
        exporting = sub.add_parser("export", help="Write every article to a folder.")
        exporting.add_argument("folder", type=Path)

    def handle(self, *args: Any, action: str, folder: Path, **options: Any) -> None:
        if action == "export":
            count, unowned = export_folder(folder)
            self.stdout.write(f"Exported {count} articles to {folder}.")
            if unowned:
                self.stderr.write(
                    f"{len(unowned)} article(s) have no owner; add `owner:` before importing "
                    f"them again: {', '.join(unowned)}"
                )
            return
        actor = None
        if options["actor"]:
            actor = user_by_email(options["actor"])
            if actor is None:
                raise CommandError(f"No user with the email {options['actor']!r}.")
        verbose = options["verbosity"] > 1

        def progress(done: int, total: int) -> None:
            if total >= 200 and (done % 100 == 0 or done == total):
                self.stderr.write(f"  {done}/{total} files")

        try:
            report = import_folder(folder, actor=actor, progress=progress)
        except ImportRefused as refused:
            for problem in refused.problems:
                self.stderr.write(f"error: {problem}")
            raise CommandError(
                f"Nothing imported: {len(refused.problems)} file(s) need fixing first."
            ) from None
        for label, slugs in (
            ("created", report.created),
            ("updated", report.updated),
            ("unchanged", report.unchanged if verbose else []),
        ):
            for slug in slugs:
                self.stdout.write(f"{label:>9}  {slug}")
        for note in report.notes:
            self.stderr.write(f"note: {note}")
        self.stdout.write(f"Imported {folder}: {report.summary()}.")
