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


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(
    name: str, run: Callable[[], object], every_seconds: int | None = None
) -> None:
    _jobs[name] = PeriodicJob(name=name, run=run, every_seconds=every_seconds)


def periodic_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())
