"""`askonce worker`: runs queued background tasks and the periodic sweeps, until stopped."""

import logging
import os
import signal
import socket
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker

from askonce.core.periodic import periodic_jobs

logger = logging.getLogger("askonce.worker")


class Command(BaseCommand):
    help = "Run background tasks (mail, sweeps such as missed response targets) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run every periodic job and every task that is due once, then exit.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.WORKER_INTERVAL_SECONDS,
            help="Seconds to sleep when there is nothing to do (default: %(default)s).",
        )
        parser.add_argument(
            "--parent-pid",
            type=int,
            default=None,
            help="Exit when this process is gone (`askonce serve` passes its own).",
        )

    def handle(
        self, *args: Any, once: bool, interval: float, parent_pid: int | None, **options: Any
    ) -> None:
        self.running = True
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        worker_id = f"{socket.gethostname()}-{os.getpid()}"[:64]
        uses_database_queue = isinstance(task_backends["default"], DatabaseBackend)
        last_run: dict[str, float] = {}
        if not once:
            self.stdout.write(f"AskOnce worker {worker_id} started (every {interval:g}s).")
        self.busy = False
        while self.running:
            self.busy = True
            self._run_periodic(last_run, force=once)
            if uses_database_queue:
                Worker(
                    queue_names=["*"],
                    interval=0,
                    batch=True,
                    backend_name="default",
                    startup_delay=False,
                    max_tasks=None,
                    worker_id=worker_id,
                    excluded_queue_names=[],
                ).run()
            if not connection.in_atomic_block:
                # Drop connections the database closed, as Django does between requests.
                close_old_connections()
            self.busy = False
            if once or not self.running:
                return
            if parent_pid is not None and os.getppid() != parent_pid:
                logger.warning("askonce serve (pid %d) is gone; worker exiting", parent_pid)
                return
            time.sleep(interval)

    def _run_periodic(self, last_run: dict[str, float], *, force: bool) -> None:
        now = time.monotonic()
        for job in periodic_jobs():
            every = job.every_seconds or settings.SWEEP_INTERVAL_SECONDS
            if not force and now - last_run.get(job.name, -1e9) < every:
                continue
            last_run[job.name] = now
            try:
                job.run()
            except Exception:
                logger.exception("periodic job %s failed; it runs again next time", job.name)

    def _stop(self, signum: int, frame: object) -> None:
        self.running = False
        if not self.busy:
            raise SystemExit(0)
        logger.info("worker stopping after the current task")
