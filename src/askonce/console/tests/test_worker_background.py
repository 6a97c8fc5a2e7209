"""Long periodic jobs run in a thread of their own: the worker loop goes on sending pages and
mail meanwhile, and a job still running is not started twice."""

import threading

import pytest

from askonce.console.management.commands import worker
from askonce.core.periodic import PeriodicJob


@pytest.mark.django_db(transaction=True)
def test_a_background_job_does_not_hold_up_the_loop(monkeypatch) -> None:
    release = threading.Event()
    started = []

    def slow() -> None:
        started.append(threading.current_thread().name)
        release.wait(10)

    quick_runs = []
    jobs = [
        PeriodicJob(name="slow", run=slow, every_seconds=1, background=True),
        PeriodicJob(name="quick", run=lambda: quick_runs.append(1), every_seconds=0),
    ]
    monkeypatch.setattr(worker, "periodic_jobs", lambda: jobs)
    command = worker.Command()
    command._background = {}
    last_run: dict[str, float] = {}

    command._run_periodic(last_run, force=False)  # returns while the slow job still runs
    assert quick_runs == [1]
    thread = command._background["slow"]
    assert thread.is_alive()
    last_run.update(slow=-1e9, quick=-1e9)  # both due again; the slow one is still running
    command._run_periodic(last_run, force=False)
    assert quick_runs == [1, 1]
    assert command._background["slow"] is thread
    release.set()
    thread.join(5)
    assert started == ["periodic-slow"]


@pytest.mark.django_db
def test_once_runs_background_jobs_inline(monkeypatch) -> None:
    ran = []
    jobs = [
        PeriodicJob(
            name="slow", run=lambda: ran.append(threading.current_thread()), background=True
        )
    ]
    monkeypatch.setattr(worker, "periodic_jobs", lambda: jobs)
    command = worker.Command()
    command._background = {}
    command._run_periodic({}, force=True)  # `askonce worker --once`, as tests and cron use it
    assert ran == [threading.current_thread()]
