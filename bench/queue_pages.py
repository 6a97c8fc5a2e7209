"""Latency of the agent console's queue page (`GET /console/?queue=Q`) with many tickets.

Per size: fresh instance (migrate + demo), seed_tickets.py N, then per run: start
`askonce serve` (2 web workers), sign in as sam@example.com through the login form (CSRF), and
per queue 3 warm-up loads, then K sequential timed loads over one keep-alive connection.
Reported per queue: median over runs of each run's p50 and p95.
"""

import asyncio
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import contention
from http_client import Connection, build_request, percentile
from instance import PYTHON, Instance
from server import Server

QUEUES = ("unclaimed", "all_open", "mine", "with_team", "overdue")
LOGIN_EMAIL = "sam@example.com"
LOGIN_PASSWORD = "askonce-demo"  # the demo data's published password
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ROW = re.compile(rb'<tr class="priority-')


async def sign_in(port: int) -> dict[str, str]:
    """Cookies of a signed-in session: GET the form for its CSRF token, POST it back."""
    connection = Connection(port)
    try:
        form_page = await connection.request(build_request("GET", "/login/"))
        cookies = form_page.cookies()
        match = CSRF_FIELD.search(form_page.text())
        if form_page.status != 200 or match is None or "csrftoken" not in cookies:
            raise RuntimeError(f"login form: HTTP {form_page.status}, no CSRF token")
        answer = await connection.request(
            build_request(
                "POST",
                "/login/",
                cookies=cookies,
                headers={"Referer": "http://127.0.0.1/login/"},
                form={
                    "username": LOGIN_EMAIL,
                    "password": LOGIN_PASSWORD,
                    "csrfmiddlewaretoken": match.group(1),
                    "next": "/console/",
                },
            )
        )
        cookies.update(answer.cookies())
        if answer.status != 302 or not cookies.get("sessionid"):
            raise RuntimeError(f"login: HTTP {answer.status} {answer.text()[:200]}")
        return cookies
    finally:
        await connection.close()


async def load_pages(port: int, raw: bytes, count: int) -> list[tuple[float, int, int]]:
    """`count` sequential loads: (seconds, rows shown, bytes) each; any non-200 is an error."""
    connection = Connection(port)
    await connection.open()
    samples = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            response = await connection.request(raw)
            elapsed = time.perf_counter() - started
            if response.status != 200 or b'class="tickets"' not in response.body:
                raise RuntimeError(f"queue page: HTTP {response.status} {response.text()[:200]}")
            samples.append((elapsed, len(ROW.findall(response.body)), len(response.body)))
    finally:
        await connection.close()
    return samples


def queue_counts(instance: Instance) -> dict[str, int]:
    """The sidebar's counts, to show how many tickets each queue holds."""
    code = (
        "import django; django.setup()\n"
        "from askonce.accounts.models import User\n"
        "from askonce.tickets.queries import queue_counts\n"
        "print(queue_counts(User.objects.get(email='sam@example.com')))"
    )
    text = instance.run_python("-c", code).strip()
    return {key: int(value) for key, value in re.findall(r"'(\w+)': (\d+)", text)}


def measure_size(
    *,
    database: str,
    size: int,
    runs: int,
    k: int,
    warmup: int,
    port: int,
    results_dir: Path,
) -> dict:
    instance = Instance(database=database, name=f"queue_{size}").create()
    try:
        seeded_at = datetime.now(UTC)
        seed_output = instance.run_python(
            str(Path(__file__).with_name("seed_tickets.py")), str(size)
        )
        print(f"  {seed_output.strip()} (started {seeded_at:%H:%M:%S} UTC)", flush=True)
        counts = queue_counts(instance)
        per_queue: dict[str, list[dict]] = {queue: [] for queue in QUEUES}
        for number in range(1, runs + 1):
            server = Server(
                port=port, env=instance.env, log_path=results_dir / f"serve-{port}.log"
            ).start()
            try:
                cookies = asyncio.run(sign_in(port))
                for queue in QUEUES:
                    raw = build_request("GET", f"/console/?queue={queue}", cookies=cookies)
                    asyncio.run(load_pages(port, raw, warmup))
                    waited = contention.wait_for_quiet(server.pids)
                    started_at = datetime.now(UTC)
                    window = contention.start()
                    samples = asyncio.run(load_pages(port, raw, k))
                    load = contention.stop(window, server.pids())
                    seconds = [elapsed for elapsed, _, _ in samples]
                    outcome = {
                        "database": database,
                        "size": size,
                        "queue": queue,
                        "run": number,
                        "started_at": started_at.isoformat(timespec="seconds"),
                        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
                        "p95_ms": round(percentile(seconds, 95) * 1000, 1),
                        "max_ms": round(max(seconds) * 1000, 1),
                        "rows": samples[0][1],
                        "bytes": samples[0][2],
                        "in_queue": counts.get(queue),
                        **load,
                        "quiet_wait_s": waited,
                    }
                    per_queue[queue].append(outcome)
                    print(
                        f"  queue {database} {size} {queue} run {number} at "
                        f"{outcome['started_at']}: p50 {outcome['p50_ms']} ms, p95 "
                        f"{outcome['p95_ms']} ms ({outcome['rows']} rows of "
                        f"{outcome['in_queue']}), foreign {load['foreign_cores']} "
                        f"(others {load['others_cores']}) cores",
                        flush=True,
                    )
            finally:
                memory = server.stop()
            for queue in QUEUES:
                per_queue[queue][-1].update(memory)
    finally:
        instance.destroy()
    summary = {}
    for queue, outcomes in per_queue.items():
        summary[queue] = {
            "p50_ms": statistics.median(outcome["p50_ms"] for outcome in outcomes),
            "p95_ms": statistics.median(outcome["p95_ms"] for outcome in outcomes),
            "all_p95_ms": [outcome["p95_ms"] for outcome in outcomes],
            "in_queue": counts.get(queue),
            "total_peak_mib": statistics.median(outcome["total_peak_mib"] for outcome in outcomes),
            "foreign_cores": statistics.median(outcome["foreign_cores"] for outcome in outcomes),
            "others_cores": statistics.median(outcome["others_cores"] for outcome in outcomes),
        }
    return {"runs": per_queue, "median": summary, "python": PYTHON}
