"""Mail intake throughput: SMTP clients on loopback → committed tickets, 250 only after commit.

`askonce smtpd` (the storing process and its SMTP front) on a fresh instance; C client threads (4 and 16 by default: a
sending MTA opens several connections, Postfix up to 20 per destination) with smtplib send N
distinct messages (80 % text/plain, 20 % multipart/alternative, ~0.8 KB, unique sender and subject like
the peers' e-mail benchmark, so every message opens a ticket); throughput = N / wall time from
the first MAIL FROM to the last 250. Peak memory: RSS of the smtpd process plus its SMTP front
(a child process), sampled together every 20 ms.
Afterwards the tickets are counted: every 250 must be one ticket.

    timeout 1800 .venv/bin/python bench/mail_intake.py --db sqlite --n 1000 --runs 3
    timeout 1800 .venv/bin/python bench/mail_intake.py --db pg --n 1000 --runs 3
    # alternating with the peer (django-helpdesk get_email), ratios round by round:
    timeout 3600 .venv/bin/python bench/mail_intake.py --db sqlite --n 3000 --runs 5 --with-peers
"""

import argparse
import json
import os
import smtplib
import statistics
import subprocess
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from instance import ASKONCE, Instance, postgres_settings
from server import _status_kib

RESULTS = Path(__file__).resolve().parent / "results"


def messages(count: int, run: int) -> list[tuple[str, bytes]]:
    built = []
    for index in range(count):
        message = EmailMessage()
        sender = f"customer{run}-{index}@mail{index % 50}.example"
        message["From"] = f"Customer {index} <{sender}>"
        message["To"] = "support@example.com"
        message["Subject"] = f"Printer on floor {index % 9} fails (case {run}-{index})"
        message["Message-ID"] = f"<bench-{run}-{index}-{time.time_ns()}@client.example>"
        text = (
            "Hello support,\n\nThe printer on our floor stopped printing this morning. "
            "We restarted it twice. Could you have a look?\n\nThanks,\nA customer\n"
        ) * 4
        message.set_content(text)
        if index % 5 == 0:
            message.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
        built.append((sender, message.as_bytes()))
    return built


def send_all(
    port: int, items: list[tuple[str, bytes]], concurrency: int
) -> tuple[list[float], list[str]]:
    """Send every (sender, raw) to support@ from `concurrency` smtplib connections at once;
    returns each mail's seconds until its 250 and the refusals."""
    pending = iter(items)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def client_loop() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                started = time.perf_counter()
                try:
                    client.sendmail(item[0], ["support@example.com"], item[1])
                except smtplib.SMTPException as error:
                    errors.append(str(error)[:200])
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client_loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    return latencies, errors


def _children(pid: int) -> list[int]:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    children = []
    for task in tasks:
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by one process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy so far (from /proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _cpu_now(pid: int) -> dict[str, float]:
    return {
        "storing": _cpu_seconds(pid),
        "front": sum(_cpu_seconds(child) for child in _children(pid)),
        "machine": _machine_busy_seconds(),
    }


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"askonce smtpd did not answer on port {port}")


def run_once(database: str, count: int, concurrency: int, run: int, port: int) -> dict:
    instance = Instance(database=database, name=f"mail{run}").create()
    log = open(instance.data_dir / "smtpd.log", "w")
    process = subprocess.Popen(
        [ASKONCE, "smtpd", "--port", str(port)], env=instance.env, stdout=log, stderr=log
    )
    peak = {"rss": 0, "storing": 0, "front": 0}
    sampling = threading.Event()

    def sample() -> None:
        # The intake is two processes: askonce smtpd (storing) and its SMTP front (a child).
        while not sampling.wait(0.02):
            storing = _status_kib(process.pid).get("VmRSS", 0)
            front = sum(_status_kib(child).get("VmRSS", 0) for child in _children(process.pid))
            peak["storing"] = max(peak["storing"], storing)
            peak["front"] = max(peak["front"], front)
            peak["rss"] = max(peak["rss"], storing + front)

    try:
        _wait_for_port(port)
        warm = messages(20, run + 1000)
        with smtplib.SMTP("127.0.0.1", port) as client:
            for sender, raw in warm:
                client.sendmail(sender, ["support@example.com"], raw)
        batch = messages(count, run)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu_before = _cpu_now(process.pid)
        started = time.perf_counter()
        latencies, errors = send_all(port, batch, concurrency)
        wall = time.perf_counter() - started
        cpu_after = _cpu_now(process.pid)
        sampling.set()
        # CPU per message: the storing process, the SMTP front, and the rest of the machine (the
        # clients, and on PostgreSQL the database server).
        cpu = {key: (cpu_after[key] - cpu_before[key]) * 1000 / count for key in cpu_before}
        cpu["other"] = cpu["machine"] - cpu["storing"] - cpu["front"]
        tickets = int(
            instance.run_python(
                "-c",
                "import django; django.setup(); from askonce.tickets.models import Ticket; "
                "print(Ticket.objects.filter(channel='email').count())",
            )
            .strip()
            .splitlines()[-1]
        )
        latencies.sort()
        return {
            "database": database,
            "run": run,
            "n": count,
            "concurrency": concurrency,
            "wall_s": round(wall, 3),
            "messages_per_s": round(count / wall, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
            "errors": len(errors),
            "cpu_ms_per_message": {key: round(value, 2) for key, value in cpu.items()},
            "email_tickets_in_db": tickets,
            "expected_in_db": count + len(warm),
            "peak_rss_mib": round(peak["rss"] / 1024, 1),
            "peak_rss_storing_mib": round(peak["storing"] / 1024, 1),
            "peak_rss_front_mib": round(peak["front"] / 1024, 1),
        }
    finally:
        sampling.set()
        process.terminate()
        process.wait(timeout=20)
        log.close()
        instance.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="sqlite")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument(
        "--c",
        default="4,16",
        help="client connections at once, one or more (comma-separated); 4,16 by default",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8325)
    parser.add_argument(
        "--with-peers",
        action="store_true",
        help="alternate with django-helpdesk's get_email (../shared/peers, set up): each round "
        "one peer run, then one run of ours per concurrency; ratios per round",
    )
    options = parser.parse_args()
    databases = ["sqlite", "pg"] if options.db == "both" else [options.db]
    summary: dict = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    concurrencies = [int(value) for value in options.c.split(",") if value.strip()]
    if options.with_peers:
        for database in databases:
            summary[database] = alternate(database, options.n, concurrencies, options)
        _save(summary)
        return
    for database in databases:
        for concurrency in concurrencies:
            runs = [
                run_once(database, options.n, concurrency, run, options.port + run)
                for run in range(1, options.runs + 1)
            ]
            for outcome in runs:
                print(json.dumps(outcome))
            rates = [outcome["messages_per_s"] for outcome in runs]
            key = f"{database} c={concurrency}"
            summary[key] = {
                "runs": runs,
                "median_messages_per_s": statistics.median(rates),
                "median_p50_ms": statistics.median(o["p50_ms"] for o in runs),
                "median_p95_ms": statistics.median(o["p95_ms"] for o in runs),
                "max_peak_rss_mib": max(o["peak_rss_mib"] for o in runs),
            }
            print(
                f"MEDIAN {key}: "
                + json.dumps({k: v for k, v in summary[key].items() if k != "runs"})
            )
        if database == "pg":
            summary["postgres"] = postgres_settings()
    _save(summary)


def alternate(database: str, count: int, concurrencies: list[int], options: Any) -> dict:
    """Rounds of one peer run then one run of ours per concurrency, back to back, so a change in
    the machine's speed between minutes moves both sides of each round's ratio alike."""
    import peers

    if not peers.available():
        raise SystemExit("the peers are not set up: cd ../shared/peers && bash setup.sh")
    rounds = []
    for run in range(1, options.runs + 1):
        peer = peers.email_run(database=database, n=count)
        ours = {c: run_once(database, count, c, run, options.port + run) for c in concurrencies}
        ratios = {c: round(ours[c]["messages_per_s"] / peer["msgs_per_s"], 2) for c in ours}
        rounds.append({"peer": peer, "ours": ours, "ratios": ratios})
        print(
            f"round {run} {database}: peer {peer['msgs_per_s']} msgs/s; "
            + "; ".join(
                f"c={c} {ours[c]['messages_per_s']} msgs/s ({ratios[c]}x)" for c in concurrencies
            ),
            flush=True,
        )
    result = {
        "rounds": rounds,
        "median_peer_messages_per_s": statistics.median(r["peer"]["msgs_per_s"] for r in rounds),
    }
    for c in concurrencies:
        result[f"c={c}"] = {
            "median_messages_per_s": statistics.median(
                r["ours"][c]["messages_per_s"] for r in rounds
            ),
            "median_ratio": statistics.median(r["ratios"][c] for r in rounds),
            "ratios": [r["ratios"][c] for r in rounds],
            "max_peak_rss_mib": max(r["ours"][c]["peak_rss_mib"] for r in rounds),
        }
    print(
        f"MEDIAN {database} with peers: "
        + json.dumps({k: v for k, v in result.items() if k != "rounds"}),
        flush=True,
    )
    if database == "pg":
        result["postgres"] = postgres_settings()
    return result


def _save(summary: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (RESULTS / f"{stamp}-mail.json").write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
