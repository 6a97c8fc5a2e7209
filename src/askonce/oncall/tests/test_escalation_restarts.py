"""Escalation survives its worker: killed between steps and restarted (twice over, at once),
it neither skips a step nor runs one twice."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, connections
from django.utils import timezone

from askonce.notify.models import OutboundMail
from askonce.oncall.actions import StepDraft, do_create_escalation_policy
from askonce.oncall.escalation import run_due_timers
from askonce.oncall.models import EscalationTimer, Page
from askonce.oncall.paging import do_trigger_page

PAGES = 40
KILL_AFTER = 3  # second steps the worker must have run before it is killed


def _environment(data_dir: Path) -> dict[str, str]:
    """The workers' environment: this test's database (the SQLite copy, or PostgreSQL's test
    database itself); mail stays queued (the test counts what each step queued)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "DATABASE_URL" and not name.startswith("ASKONCE_")
    }
    env["ASKONCE_DATA_DIR"] = str(data_dir)
    env["ASKONCE_TASK_BACKEND"] = "django.tasks.backends.dummy.DummyBackend"
    env["ASKONCE_LOG_LEVEL"] = "ERROR"
    if connection.vendor == "postgresql":
        given = connection.settings_dict
        password = f":{given['PASSWORD']}" if given["PASSWORD"] else ""
        env["DATABASE_URL"] = (
            f"postgresql://{given['USER']}{password}@{given['HOST'] or '127.0.0.1'}:"
            f"{given['PORT'] or 5432}/{given['NAME']}"
        )
    return env


class Database:
    """What the workers wrote, read beside them: the SQLite file (WAL lets us), or PostgreSQL."""

    def __init__(self, data_dir: Path) -> None:
        self.file: sqlite3.Connection | None = None
        if connection.vendor == "sqlite":
            data_dir.mkdir(parents=True)
            self.file = sqlite3.connect(data_dir / "askonce.sqlite3", timeout=30)
            # The test database, migrated and set up, becomes the installation's file.
            connection.ensure_connection()
            connection.connection.backup(self.file)

    def rows(self, sql: str) -> list[tuple]:
        if self.file is not None:
            with self.file:
                return self.file.execute(sql).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]

    def one(self, sql: str) -> int:
        return int(self.rows(sql)[0][0])

    def steps_done(self, step_index: int) -> int:
        done = self.rows(
            "SELECT step_index, count(*) FROM oncall_escalationtimer WHERE status = 'done' "
            "GROUP BY step_index"
        )
        return dict(done).get(step_index, 0)

    def make_pending_steps_due(self) -> int:
        """Minutes pass with no worker running."""
        sql = "UPDATE oncall_escalationtimer SET due_at = '2000-01-01 00:00:00+00:00' WHERE status = 'pending'"
        if self.file is not None:
            with self.file:
                return self.file.execute(sql).rowcount
        return self.one(sql)

    def check_every_step_ran_once(self, steps: int) -> None:
        """Each page: its first `steps` steps done once, one page mail each, none twice."""
        per_page = self.rows(
            "SELECT page_id, count(*) FROM oncall_escalationtimer WHERE status = 'done' "
            "GROUP BY page_id"
        )
        assert len(per_page) == PAGES and {count for _, count in per_page} == {steps}
        mails = self.rows(
            "SELECT thread, recipients, count(*) FROM notify_outboundmail WHERE kind = 'page' "
            "GROUP BY thread, recipients"
        )
        assert len(mails) == PAGES * steps, "one mail per page and step"
        assert {count for *_, count in mails} == {1}, "no step notified twice"
        notified = self.one("SELECT count(*) FROM core_event WHERE verb = 'page.notified'")
        assert notified == PAGES * steps


def _askonce(*args: str) -> list[str]:
    return [sys.executable, "-m", "askonce.cli", *args]


def _run_together(env: dict[str, str], count: int) -> None:
    workers = [
        subprocess.Popen(_askonce("worker", "--once"), env=env, stderr=subprocess.PIPE)
        for _ in range(count)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors.decode()


@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_between_steps_neither_skips_nor_repeats_one(
    tmp_path: Path, make_staff, settings
) -> None:
    """40 pages wait for their second step; the worker is killed (SIGKILL) amid them and two
    workers restart at once: every page gets its second step, each exactly once."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    people = [make_staff("support", email=f"{name}@example.com") for name in ("a", "b", "c")]
    policy = do_create_escalation_policy(
        team=people[0].teams.get(),
        name="Support",
        slug="support",
        steps=[StepDraft(person, wait_minutes=5) for person in people],
        actor=None,
    )
    for number in range(PAGES):
        do_trigger_page(policy=policy, summary=f"Page {number}", actor=None)
    database = Database(tmp_path / "var")
    env = _environment(tmp_path / "var")
    assert database.steps_done(0) == PAGES, "each page's first step ran with its trigger"

    assert database.make_pending_steps_due() == PAGES
    worker = subprocess.Popen(_askonce("worker", "--interval", "0.05"), env=env)
    deadline = time.monotonic() + 30
    while database.steps_done(1) < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.002)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    ran_before_the_kill = database.steps_done(1)
    assert KILL_AFTER <= ran_before_the_kill < PAGES, "killed in the middle of the backlog"

    _run_together(env, 2)
    database.check_every_step_ran_once(steps=2)
    pending = "SELECT count(*) FROM oncall_escalationtimer WHERE status = 'pending'"
    assert database.one(pending) == PAGES, "the third steps wait their five minutes"


@pytest.mark.django_db
def test_a_step_row_exists_once(support) -> None:
    page = do_trigger_page(policy=support.policy, summary="Once", actor=None).page
    with pytest.raises(IntegrityError):
        EscalationTimer.objects.create(page=page, round=0, step_index=0, due_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_share_the_due_steps(support, settings) -> None:
    """On PostgreSQL, two runners take due rows with SKIP LOCKED: each step runs exactly once."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the subprocess test covers it")
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    policy = do_create_escalation_policy(
        team=support.policy.team,
        name="Both",
        slug="both",
        steps=[StepDraft(support.sam, wait_minutes=1), StepDraft(support.ada)],
        actor=None,
    )
    pages = [do_trigger_page(policy=policy, summary=f"#{n}", actor=None).page for n in range(24)]
    EscalationTimer.objects.filter(status="pending").update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    counts: list[int] = []
    start = threading.Barrier(2)

    def runner() -> None:
        start.wait()
        try:
            counts.append(run_due_timers())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == len(pages)
    assert EscalationTimer.objects.filter(status="done").count() == 2 * len(pages)
    assert OutboundMail.objects.filter(kind="page").count() == 2 * len(pages), "no step twice"
    assert not Page.objects.filter(status="resolved").exists()
