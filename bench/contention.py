"""How busy the shared 2-core machine was during a measurement, apart from the benchmark itself.

Two readings per window:
  foreign_cores  CPU used by processes that are not ours (this process, the server tree,
                 PostgreSQL), from /proc/<pid>/stat; a lower bound, since processes that start
                 and end inside the window are not seen (e.g. short test runs).
  busy_cores     every CPU's non-idle time from /proc/stat, which does see them; minus our own
                 CPU it gives `others_cores`, an upper bound (kernel work for our traffic is in it).
"""

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu() -> dict[int, tuple[str, float]]:
    """pid -> (command name, seconds of CPU used so far) for every process."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        found[int(name)] = (command, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def _busy_seconds() -> float:
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


@dataclass
class Window:
    started: float
    busy: float
    processes: dict[int, tuple[str, float]]


def start() -> Window:
    return Window(time.monotonic(), _busy_seconds(), _process_cpu())


def stop(window: Window, ours: Iterable[int]) -> dict[str, float]:
    elapsed = max(time.monotonic() - window.started, 1e-6)
    ours = set(ours) | {os.getpid()}
    now = _process_cpu()
    foreign = mine = 0.0
    for pid, (command, seconds) in now.items():
        used = seconds - window.processes.get(pid, (command, 0.0))[1]
        if pid in ours or command.startswith("postgres"):
            mine += used
        else:
            foreign += used
    busy = (_busy_seconds() - window.busy) / elapsed
    return {
        "foreign_cores": round(foreign / elapsed, 2),
        "others_cores": round(max(0.0, busy - mine / elapsed), 2),
        "busy_cores": round(busy, 2),
        "load1": float(open("/proc/loadavg").read().split()[0]),
    }


def wait_for_quiet(
    ours: Callable[[], Iterable[int]],
    *,
    threshold: float = 0.3,
    max_wait: float = float(os.environ.get("ASKONCE_BENCH_QUIET_WAIT", "90")),
    probe: float = 2.0,
) -> float:
    """Wait until others use < `threshold` cores (over `probe` s) or `max_wait` s have passed."""
    began = time.monotonic()
    while True:
        window = start()
        time.sleep(probe)
        reading = stop(window, ours())
        # While we wait our server is idle, so the whole machine's busy time is others' work,
        # including short-lived processes the per-process reading misses.
        if max(reading["foreign_cores"], reading["others_cores"]) < threshold:
            break
        if time.monotonic() - began >= max_wait:
            break
    return round(time.monotonic() - began, 1)
