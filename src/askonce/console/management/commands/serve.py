"""`askonce serve`: the web server (ASGI, uvicorn) and a background worker, in one command."""

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = "Serve AskOnce over HTTP and run the background worker beside it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("ASKONCE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("ASKONCE_PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("ASKONCE_WEB_WORKERS", "1")),
            help="Web server processes (default: ASKONCE_WEB_WORKERS or 1).",
        )
        parser.add_argument(
            "--smtp-port",
            type=int,
            default=None,
            help="SMTP intake port (default: ASKONCE_SMTP_PORT or 2525; 0 turns intake off).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start a background worker (run `askonce worker` elsewhere).",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        workers: int,
        no_worker: bool,
        smtp_port: int | None,
        **options: Any,
    ) -> None:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        connection.close()
        if pending:
            self.stderr.write(
                f"{len(pending)} database migration(s) are not applied; run `askonce migrate` first."
            )
            sys.exit(2)
        children: list[subprocess.Popen] = []
        parent = ["--parent-pid", str(os.getpid())]
        if not no_worker:
            children.append(
                subprocess.Popen([sys.executable, "-m", "askonce.cli", "worker", *parent])  # noqa: S603
            )
        smtp_port = settings.SMTP_PORT if smtp_port is None else smtp_port
        if smtp_port:
            children.append(
                subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                    [
                        sys.executable,
                        "-m",
                        "askonce.cli",
                        "smtpd",
                        "--port",
                        str(smtp_port),
                        *parent,
                    ]
                )
            )
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
        database = settings.DATABASES["default"]
        self.stdout.write(
            self.style.SUCCESS(f"AskOnce is running at {url}")
            + f"\n  agent console: {url}console/   customer portal: {url}portal/"
            + f"\n  API: {url}api/v1/docs   database: {connection.vendor}"
            + f" {database['NAME']}"
            + (
                f"\n  mail: SMTP on {settings.SMTP_BIND}:{smtp_port} for {settings.SUPPORT_ADDRESS}"
                if smtp_port
                else "\n  mail: SMTP intake off"
            )
            + "\n  Press Ctrl+C to stop."
        )
        self.stdout.flush()
        # Become the web server: this process has Django loaded (~80 MB) and needs none of it
        # any more. The pid stays the same, so the worker and SMTP intake still see their parent
        # and stop within a second when the server does.
        os.execv(  # noqa: S606 (our own interpreter, fixed arguments)
            sys.executable,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "askonce.config.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--lifespan",
                "off",
                "--no-access-log",
                "--no-server-header",
                "--log-level",
                os.environ.get("ASKONCE_SERVER_LOG_LEVEL", "warning"),
            ],
        )
