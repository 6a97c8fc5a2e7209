"""The peer baseline (django-helpdesk 2.6.1, ../shared/peers) run from here, or read from its files.

On this shared 2-core machine the load from other people's work changes from minute to minute, so
`run.py --with-peers` alternates: one peer run, then one AskOnce run, and so on, and compares the
medians of runs taken side by side. Without it, the peers' last result files are read.
"""

import json
import os
import statistics
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from instance import PG_URL

CHECKOUT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("PEERS", CHECKOUT.parent / "shared" / "peers"))
PEERS_WORK = Path(
    os.environ.get("PEERS_WORK")
    or os.path.join(os.environ.get("TMPDIR") or "/tmp", "askonce-peers")
)
PEERS_PYTHON = PEERS_WORK / "venv" / "bin" / "python"


def available() -> bool:
    return (PEERS / "djh" / "scripts" / "bench_create.py").exists() and PEERS_PYTHON.exists()


def _run(script: str, arguments: list[str], database: str, timeout: float) -> list[str]:
    env = dict(os.environ, PEERS_WORK=str(PEERS_WORK))
    if database == "pg":
        env["PEERS_PG_URL"] = PG_URL
    done = subprocess.run(
        [str(PEERS_PYTHON), str(PEERS / "djh" / "scripts" / script), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"peers' {script} exited with {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout.splitlines()


def create_run(*, database: str, n: int, concurrency: int, warmup: int) -> dict:
    """One run of the peers' bench_create.py --mode api (their port 8000), plus the CPU its
    gunicorn processes used per ticket during the timed load (sampled from outside)."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    sampler = _GunicornCpu()
    sampler.start()
    try:
        lines = _run(
            "bench_create.py",
            [
                *("--db", database, "--mode", "api", "--n", str(n), "--c", str(concurrency)),
                *("--warmup", str(warmup), "--runs", "1"),
            ],
            database,
            timeout=1200,
        )
    finally:
        sampler.stop()
    outcome = json.loads(next(line for line in lines if line.startswith("{")))
    outcome["started_at"] = started_at
    outcome["server_cpu_ms_per_request"] = round(sampler.last_burst_seconds() * 1000 / n, 2)
    return outcome


def email_run(*, database: str, n: int) -> dict:
    """One run of the peers' bench_email.py: django-helpdesk's get_email on a local folder."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    lines = _run(
        "bench_email.py", ["--db", database, "--n", str(n), "--runs", "1"], database, timeout=1200
    )
    outcome = json.loads(next(line for line in lines if line.startswith('{"run"')))
    outcome["started_at"] = started_at
    return outcome


class _GunicornCpu(threading.Thread):
    """Cumulative CPU of the peers' gunicorn processes, every 0.1 s, remembered after they exit.

    bench_create.py starts gunicorn, warms up, waits >= 2 s for a quiet machine (gunicorn idle),
    then runs the timed load and stops: the timed load is the last burst after an idle stretch.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.series: list[tuple[float, float]] = []
        self._seen: dict[int, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        while not self._done.is_set():
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                try:
                    with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                        command = cmdline.read()
                    if b"gunicorn" not in command or b"peersite" not in command:
                        continue
                    with open(f"/proc/{name}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self._seen[int(name)] = (int(fields[11]) + int(fields[12])) / ticks
            self.series.append((time.monotonic(), sum(self._seen.values())))
            time.sleep(0.1)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def last_burst_seconds(self, idle: float = 1.5) -> float:
        series = self.series
        growing = [i for i in range(1, len(series)) if series[i][1] > series[i - 1][1] + 0.001]
        if not growing:
            return 0.0
        end = growing[-1]
        begin = 0
        for i in range(end):
            j = i
            while j < end and series[j][0] - series[i][0] < idle:
                j += 1
            if series[j][0] - series[i][0] >= idle and series[j][1] - series[i][1] < 0.03:
                begin = j
        return series[end][1] - series[begin][1]


def list_medians(*, database: str, size: int, runs: int, k: int) -> dict:
    """The peers' bench_list.py at one size (seeds its own DB; port 8001): medians per scenario."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    lines = _run(
        "bench_list.py",
        ["--db", database, "--sizes", str(size), "--k", str(k), "--runs", str(runs)],
        database,
        timeout=2400,
    )
    medians = {}
    for line in lines:
        if line.startswith("MEDIAN "):
            median = json.loads(line[len("MEDIAN ") :])
            medians[median["scenario"]] = median
    return {"started_at": started_at, **medians}


def summarize_create(runs: list[dict]) -> dict:
    return {
        "tickets_per_s": statistics.median(run["tickets_per_s"] for run in runs),
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "p95_ms": statistics.median(run["p95_ms"] for run in runs),
        "total_peak_mib": statistics.median(run["total_peak_mib"] for run in runs),
        "all_tickets_per_s": [run["tickets_per_s"] for run in runs],
        "server_cpu_ms_per_request": statistics.median(
            run["server_cpu_ms_per_request"] for run in runs
        ),
        "foreign_cores": statistics.median(run["foreign_cores"] for run in runs),
        "measured_at": runs[0]["started_at"],
        "interleaved": True,
    }


def from_files(folder: Path) -> dict:
    """django-helpdesk medians from the peers' result files, with when each file was written."""
    figures: dict = {"folder": str(folder)}
    for database in ("sqlite", "pg"):
        path = folder / f"create_{database}_api.json"
        if path.exists():
            median = json.loads(path.read_text())["median"]
            figures[f"create_{database}"] = {
                "tickets_per_s": median["tickets_per_s"],
                "p50_ms": median["p50_ms"],
                "p95_ms": median["p95_ms"],
                "total_peak_mib": median["total_peak_mib"],
                "measured_at": _mtime(path),
            }
        for path in sorted(folder.glob(f"list_{database}_*.json")):
            for key, value in json.loads(path.read_text()).items():
                size, _, scenario = key.partition("_")
                if scenario == "list":
                    figures[f"list_{database}_{size}"] = {
                        "page_ms_p50": value["median"]["page_ms_p50"],
                        "page_ms_p95": value["median"]["page_ms_p95"],
                        "measured_at": _mtime(path),
                    }
    return figures


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
