"""Tickets created per second through `POST /api/v1/tickets`, with latency and server memory.

Each run: fresh instance (migrate + demo), a bearer token for sam@example.com, `askonce serve`
with 2 web workers, 20 warm-up creations, then exactly N creations over C keep-alive
connections, each connection waiting for its answer before sending the next (closed loop).
The request shape follows the peers' bench_create.py (same subject, body, 500 requesters).
"""

import asyncio
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import contention
import peers
from http_client import Connection, LoadResult, build_request, drive, percentile
from instance import Instance
from server import Server

BODY = (
    "Hello support team,\n\nMy printer on floor 3 refuses to print PDF files larger "
    "than 2 MB. It shows error 0x41 and then the queue is stuck. I already restarted "
    "the device and re-installed the driver. Can you please have a look?\n\n"
    "Thanks,\nA customer\n"
) * 2


def creation_requests(token: str, first: int, count: int, *, keep_alive: bool) -> list[bytes]:
    return [
        build_request(
            "POST",
            "/api/v1/tickets",
            headers={"Authorization": f"Bearer {token}"},
            json_body={
                "subject": f"Printer problem #{index}",
                "body": BODY,
                "requester_email": f"cust{index % 500}@example.test",
            },
            keep_alive=keep_alive,
        )
        for index in range(first, first + count)
    ]


async def _balanced_connections(
    server: Server, port: int, concurrency: int, *, attempts: int = 20
) -> tuple[list[Connection], dict[int, int]]:
    """Keep-alive connections spread evenly over the workers.

    A keep-alive connection stays with the worker that accepted it, and uvicorn's workers
    accept in bursts, so 4 connections opened at once can all land on one worker (half the
    server idle). A proxy in front of a real deployment spreads its many connections; here we
    reopen until each worker holds its share, and record the spread.
    """
    spread: dict[int, int] = {}
    for _ in range(attempts):
        connections = []
        for _ in range(concurrency):
            connection = Connection(port)
            await connection.open()
            connections.append(connection)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # let the workers accept them
        ports = [connection.local_port() or 0 for connection in connections]
        spread = server.connections_by_worker(ports)
        balanced = spread and max(spread.values()) - min(spread.values()) <= 1
        if balanced and sum(spread.values()) == concurrency:
            return connections, spread
        await asyncio.gather(*(connection.close() for connection in connections))
    return [Connection(port) for _ in range(concurrency)], spread


async def _timed_load(
    server: Server, port: int, requests: list[bytes], concurrency: int, keep_alive: bool
) -> tuple[LoadResult, dict[int, int]]:
    spread: dict[int, int] = {}
    connections = None
    if keep_alive:
        connections, spread = await _balanced_connections(server, port, concurrency)
    result = await drive(
        port, requests, concurrency=concurrency, expect_status=201, connections=connections
    )
    return result, spread


def run_once(
    *,
    database: str,
    n: int,
    concurrency: int,
    warmup: int,
    port: int,
    results_dir: Path,
    keep_alive: bool = True,
) -> dict:
    instance = Instance(database=database, name="create").create()
    try:
        before = instance.count_tickets()  # what `askonce demo` opened
        token = instance.api_token("sam@example.com")
        warmup_requests = creation_requests(token, 10**6, warmup, keep_alive=keep_alive)
        timed_requests = creation_requests(token, 0, n, keep_alive=keep_alive)
        server = Server(
            port=port, env=instance.env, log_path=results_dir / f"serve-{port}.log"
        ).start()
        try:
            warm = asyncio.run(
                drive(port, warmup_requests, concurrency=concurrency, expect_status=201)
            )
            if warm.errors:
                raise RuntimeError(f"warm-up failed: {warm.errors[0]}")
            rss_after_warmup = server.rss_now_mib()
            waited = contention.wait_for_quiet(server.pids)
            server.reset_peak()
            started_at = datetime.now(UTC)
            usage_before = resource.getrusage(resource.RUSAGE_SELF)
            window = contention.start()
            server_cpu_before = server.cpu_seconds()
            result, spread = asyncio.run(
                _timed_load(server, port, timed_requests, concurrency, keep_alive)
            )
            server_cpu = server.cpu_seconds() - server_cpu_before
            load = contention.stop(window, server.pids())
            usage_after = resource.getrusage(resource.RUSAGE_SELF)
        finally:
            memory = server.stop()
        in_db = instance.count_tickets()
    finally:
        instance.destroy()
    client_cpu = (usage_after.ru_utime + usage_after.ru_stime) - (
        usage_before.ru_utime + usage_before.ru_stime
    )
    latencies, errors, wall = result.latencies, result.errors, result.wall_seconds
    outcome = {
        "database": database,
        "started_at": started_at.isoformat(timespec="seconds"),
        "n": n,
        "concurrency": concurrency,
        "connection": "keep-alive" if keep_alive else "close",
        "wall_s": round(wall, 3),
        "tickets_per_s": round(n / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "errors": len(errors),
        "tickets_in_db": in_db,
        "expected_in_db": before + n + warmup,
        "server_cpu_ms_per_request": round(server_cpu * 1000 / n, 2),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / n, 2),
        "connections_per_worker": sorted(spread.values()),
        "rss_after_warmup_mib": round(rss_after_warmup, 1),
        **memory,
        **load,
        "quiet_wait_s": waited,
    }
    if errors:
        outcome["first_error"] = errors[0]
    return outcome


def summarize(runs: list[dict]) -> dict:
    keys = ("tickets_per_s", "p50_ms", "p95_ms", "p99_ms", "total_peak_mib", "worker_hwm_mib")
    keys += ("web_peak_mib", "server_cpu_ms_per_request")
    summary = {key: statistics.median(run[key] for run in runs) for key in keys}
    summary["foreign_cores"] = statistics.median(run["foreign_cores"] for run in runs)
    summary["others_cores"] = statistics.median(run["others_cores"] for run in runs)
    summary["all_tickets_per_s"] = [run["tickets_per_s"] for run in runs]
    summary["errors"] = sum(run["errors"] for run in runs)
    summary["counts_ok"] = all(run["tickets_in_db"] == run["expected_in_db"] for run in runs)
    return summary


def measure(
    *,
    database: str,
    n: int,
    concurrency: int,
    warmup: int,
    runs: int,
    port: int,
    results_dir: Path,
    keep_alive: bool = True,
    with_peers: bool = False,
) -> dict:
    all_runs, peer_runs = [], []
    for number in range(1, runs + 1):
        if with_peers:
            peer = peers.create_run(database=database, n=n, concurrency=concurrency, warmup=warmup)
            print(
                f"  peer   {database} run {number} at {peer['started_at']}: "
                f"{peer['tickets_per_s']} tickets/s, p50 {peer['p50_ms']} ms, p95 "
                f"{peer['p95_ms']} ms, peak {peer['total_peak_mib']} MiB, errors {peer['errors']}, "
                f"server CPU {peer['server_cpu_ms_per_request']} ms/request, "
                f"foreign {peer['foreign_cores']} cores",
                flush=True,
            )
            peer_runs.append(peer)
        outcome = run_once(
            database=database,
            n=n,
            concurrency=concurrency,
            warmup=warmup,
            port=port,
            results_dir=results_dir,
            keep_alive=keep_alive,
        )
        outcome["run"] = number
        print(_one_line(outcome), flush=True)
        all_runs.append(outcome)
        time.sleep(1)
    measured = {"runs": all_runs, "median": summarize(all_runs)}
    if peer_runs:
        measured["peer_runs"] = peer_runs
        measured["peer_median"] = peers.summarize_create(peer_runs)
    return measured


def _one_line(outcome: dict) -> str:
    return (
        f"  create {outcome['database']} run {outcome['run']} at {outcome['started_at']}: "
        f"{outcome['tickets_per_s']} tickets/s, p50 {outcome['p50_ms']} ms, "
        f"p95 {outcome['p95_ms']} ms, peak {outcome['total_peak_mib']} MiB, "
        f"errors {outcome['errors']}, in DB {outcome['tickets_in_db']}/"
        f"{outcome['expected_in_db']}, workers {outcome['connections_per_worker']}, "
        f"server CPU {outcome['server_cpu_ms_per_request']} ms/request, client "
        f"{outcome['client_cpu_ms_per_request']}, "
        f"foreign {outcome['foreign_cores']} (others {outcome['others_cores']}) cores"
    )
