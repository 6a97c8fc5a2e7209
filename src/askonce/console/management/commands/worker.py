"""`askonce worker`: runs queued background tasks and the periodic sweeps, until stopped."""

import atexit
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection, connections
from django.tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker

from askonce.core.periodic import PeriodicJob, periodic_jobs
from askonce.core.wakeup import Alarm

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
        self._background: dict[str, threading.Thread] = {}
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        worker_id = f"{socket.gethostname()}-{os.getpid()}"[:64]
        uses_database_queue = isinstance(task_backends["default"], DatabaseBackend)
        last_run: dict[str, float] = {}
        if not once:
            self.stdout.write(
                f"AskOnce worker {worker_id} started (every {interval:g}s, and when woken)."
            )
        self.busy = False
        # Between looks the worker sleeps until a task is committed (or `interval` passes).
        alarm = None if once else Alarm()
        if alarm is not None:
            atexit.register(alarm.close)  # also on SIGTERM's SystemExit
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
            if alarm is not None:
                alarm.wait(interval)
            else:
                time.sleep(interval)

    def _run_periodic(self, last_run: dict[str, float], *, force: bool) -> None:
        now = time.monotonic()
        for job in periodic_jobs():
            every = job.every_seconds or settings.SWEEP_INTERVAL_SECONDS
            if not force and now - last_run.get(job.name, -1e9) < every:
                continue
            if job.background and not force:
                running = self._background.get(job.name)
                if running is not None and running.is_alive():
                    continue  # still at it: the next run starts when this one has finished
                last_run[job.name] = now
                thread = threading.Thread(
                    target=self._run_in_background,
                    args=(job,),
                    name=f"periodic-{job.name}",
                    daemon=True,
                )
                self._background[job.name] = thread
                thread.start()
                continue
            last_run[job.name] = now
            self._run_job(job)

    @staticmethod
    def _run_job(job: PeriodicJob) -> None:
        try:
            job.run()
        except Exception:
            logger.exception("periodic job %s failed; it runs again next time", job.name)

    def _run_in_background(self, job: PeriodicJob) -> None:
        try:
            self._run_job(job)
        finally:
            connections.close_all()  # this thread's own connections

    def _stop(self, signum: int, frame: object) -> None:
        self.running = False
        if not self.busy:
            raise SystemExit(0)
        logger.info("worker stopping after the current task")
