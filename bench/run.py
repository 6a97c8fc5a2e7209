"""AskOnce benchmark: ticket creation through the API, and the agent queue page at scale.

    .venv/bin/python bench/run.py [--db sqlite|pg|both] [--only create|queue] [--n 1000]
                                  [--runs 3] [--sizes 100000]

Prints a results table and writes JSON to bench/results/. When the peers' harness
(../shared/peers) has results in $PEERS_WORK/results, their figures and the ratio are added.
README.md in this folder says what is measured and how to read it.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import create_tickets
import peers
import queue_pages
from instance import postgres_settings, snapshot_commit

HERE = Path(__file__).resolve().parent
DATABASE_NAMES = {"sqlite": "SQLite (WAL, synchronous=NORMAL)", "pg": "PostgreSQL"}
CREATE_TARGET_RATIO = 5.0
QUEUE_TARGET_P95_MS = 100.0


def default_peers_results() -> Path:
    work = os.environ.get("PEERS_WORK") or os.path.join(
        os.environ.get("TMPDIR") or "/tmp", "askonce-peers"
    )
    return Path(work) / "results"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--only", choices=["create", "queue"], help="run one benchmark only")
    parser.add_argument("--n", type=int, default=1000, help="timed creations per run")
    parser.add_argument("--c", "--concurrency", dest="concurrency", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=20, help="untimed creations per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="100000", help="tickets seeded for the queue page")
    parser.add_argument("--k", type=int, default=20, help="timed loads per queue and run")
    parser.add_argument("--port", type=int, default=8300, help="create uses it, queue port+1")
    parser.add_argument(
        "--connection",
        choices=["keep-alive", "close"],
        default="keep-alive",
        help="create: reuse connections, or one connection per request like the peers' client",
    )
    parser.add_argument(
        "--commit",
        help="measure this commit (git archive of src/ into a temp folder) instead of the "
        "working tree; dependencies still come from the venv",
    )
    parser.add_argument(
        "--with-peers",
        action="store_true",
        help="run the peers' harness too: create runs alternate peer/ours; the peers' list "
        "benchmark runs right before ours",
    )
    parser.add_argument("--peers-results", type=Path, default=default_peers_results())
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    arguments = parser.parse_args(argv)
    if min(arguments.n, arguments.runs, arguments.concurrency, arguments.k) < 1:
        parser.error("--n, --runs, --c and --k must be at least 1")
    return arguments


def source_state(commit: str | None) -> dict[str, object]:
    """Which code was measured: the commit, and a digest of uncommitted changes to it."""
    if commit:
        return {"commit": commit[:12], "snapshot": True, "uncommitted_files": []}

    def git(*arguments: str) -> str:
        done = subprocess.run(
            ["git", *arguments], cwd=HERE.parent, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    diff = git("diff", "HEAD", "--", "src", "pyproject.toml")
    return {
        "commit": git("rev-parse", "--short", "HEAD") or "none",
        "uncommitted_files": git(
            "status", "--porcelain", "--", "src", "pyproject.toml"
        ).splitlines(),
        "uncommitted_sha256": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else "",
    }


def _peer_create(peer: dict | None) -> str:
    if not peer:
        return "n/a"
    text = f"{peer['tickets_per_s']:.1f} tickets/s"
    if peer.get("server_cpu_ms_per_request"):
        text += f" (server CPU {peer['server_cpu_ms_per_request']} ms/ticket)"
    if peer.get("interleaved"):
        text += ", runs alternated with ours"
    return text


def table(results: dict, peers: dict) -> str:
    lines = [
        "| Measurement | DB | AskOnce | django-helpdesk 2.6.1 | Ratio | Target | AskOnce detail |",
        "|---|---|---|---|---|---|---|",
    ]
    for database, outcome in results.get("create", {}).items():
        ours = outcome["median"]
        peer = peers.get(f"create_{database}")
        ratio = ours["tickets_per_s"] / peer["tickets_per_s"] if peer else None
        lines.append(
            f"| create ticket, POST /api/v1/tickets (n={results['settings']['n']}, "
            f"c={results['settings']['concurrency']}) | {DATABASE_NAMES[database]} "
            f"| {ours['tickets_per_s']:.1f} tickets/s "
            f"| {_peer_create(peer)} "
            f"| {f'{ratio:.1f}x' if ratio else 'n/a'} "
            f"| >= {CREATE_TARGET_RATIO:.0f}x: "
            f"{'met' if ratio and ratio >= CREATE_TARGET_RATIO else 'MISSED' if ratio else '?'} "
            f"| p50 {ours['p50_ms']} ms, p95 {ours['p95_ms']} ms, peak RSS "
            f"{ours['total_peak_mib']} MiB ({ours.get('web_peak_mib', '?')} without SMTP intake; "
            f"worker {ours['worker_hwm_mib']}), server CPU "
            f"{ours.get('server_cpu_ms_per_request', '?')} ms/ticket, runs "
            f"{ours['all_tickets_per_s']}, foreign {ours['foreign_cores']} cores |"
        )
    for key, outcome in results.get("queue", {}).items():
        database, _, size = key.partition("_")
        peer = peers.get(f"list_{database}_{size}")
        for queue, ours in outcome["median"].items():
            ratio = peer["page_ms_p95"] / ours["p95_ms"] if peer and ours["p95_ms"] else None
            verdict = "met" if ours["p95_ms"] < QUEUE_TARGET_P95_MS else "MISSED"
            lines.append(
                f"| queue page p95, {queue} ({int(size):,} tickets) | {DATABASE_NAMES[database]} "
                f"| {ours['p95_ms']} ms "
                f"| {f'{peer["page_ms_p95"]} ms (list page)' if peer else 'n/a'} "
                f"| {f'{ratio:.1f}x faster' if ratio else 'n/a'} "
                f"| < {QUEUE_TARGET_P95_MS:.0f} ms: {verdict} "
                f"| p50 {ours['p50_ms']} ms, runs p95 {ours['all_p95_ms']}, "
                f"{ours['in_queue']} in queue, foreign {ours['foreign_cores']} cores |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    databases = ["sqlite", "pg"] if arguments.db == "both" else [arguments.db]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    snapshot = None
    commit = None
    if arguments.commit:
        commit, snapshot = snapshot_commit(arguments.commit, HERE.parent)
    try:
        _measure(arguments, databases, stamp, commit)
    finally:
        if snapshot is not None:
            shutil.rmtree(snapshot, ignore_errors=True)


def _measure(
    arguments: argparse.Namespace, databases: list[str], stamp: str, commit: str | None
) -> None:
    results: dict = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "source": source_state(commit),
        "settings": {
            key: value for key, value in vars(arguments).items() if not isinstance(value, Path)
        },
    }
    print(f"source: {results['source']}", flush=True)
    if "pg" in databases:
        results["machine"]["postgresql"] = postgres_settings()
    if arguments.only in (None, "create"):
        results["create"] = {}
        for database in databases:
            print(f"create tickets on {database}", flush=True)
            results["create"][database] = create_tickets.measure(
                database=database,
                n=arguments.n,
                concurrency=arguments.concurrency,
                warmup=arguments.warmup,
                runs=arguments.runs,
                port=arguments.port,
                results_dir=arguments.results_dir,
                keep_alive=arguments.connection == "keep-alive",
                with_peers=arguments.with_peers,
            )
            _write(arguments.results_dir / f"{stamp}-create-{database}.json", results["create"])
    peer_lists: dict[str, dict] = {}
    if arguments.only in (None, "queue"):
        results["queue"] = {}
        for database in databases:
            for size in [int(size) for size in arguments.sizes.split(",")]:
                if arguments.with_peers:
                    print(f"peers' list page on {database} with {size:,} tickets", flush=True)
                    peer_lists[f"{database}_{size}"] = peers.list_medians(
                        database=database, size=size, runs=arguments.runs, k=arguments.k
                    )
                    print(f"  {peer_lists[f'{database}_{size}'].get('list')}", flush=True)
                print(f"queue pages on {database} with {size:,} tickets", flush=True)
                results["queue"][f"{database}_{size}"] = queue_pages.measure_size(
                    database=database,
                    size=size,
                    runs=arguments.runs,
                    k=arguments.k,
                    warmup=3,
                    port=arguments.port + 1,
                    results_dir=arguments.results_dir,
                )
                _write(arguments.results_dir / f"{stamp}-queue-{database}.json", results["queue"])
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["peers"] = peers.from_files(arguments.peers_results)
    for database, outcome in results.get("create", {}).items():
        if "peer_median" in outcome:
            results["peers"][f"create_{database}"] = outcome["peer_median"]
    for key, medians in peer_lists.items():
        if "list" in medians:
            results["peers"][f"list_{key}"] = {
                "page_ms_p50": medians["list"]["page_ms_p50"],
                "page_ms_p95": medians["list"]["page_ms_p95"],
                "measured_at": medians["started_at"],
                "run_before_ours": True,
            }
    summary = table(results, results["peers"])
    results["table"] = summary
    _write(arguments.results_dir / f"{stamp}-summary.json", results)
    print()
    print(summary)
    print(f"\nJSON: {arguments.results_dir / f'{stamp}-summary.json'}")


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, default=str))


if __name__ == "__main__":
    main()
