"""Jobs the worker runs on a timer (sweeps that must happen without anyone opening a page).

Domains register their jobs in `apps.py`; each job must be idempotent, because several workers
may run it at once and a restarted worker runs it again.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[], object]
    every_seconds: int | None = None  # None: the worker's sweep interval
    # A long job (seconds of CPU) runs in a thread of its own, so that the worker keeps
    # sending pages and mail meanwhile; one run of it at a time.
    background: bool = False


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(
    name: str,
    run: Callable[[], object],
    every_seconds: int | None = None,
    *,
    background: bool = False,
) -> None:
    _jobs[name] = PeriodicJob(
        name=name, run=run, every_seconds=every_seconds, background=background
    )


def periodic_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())
