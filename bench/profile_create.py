"""Diagnostic: where the web workers spend CPU while tickets are created (or a page is loaded).

Samples every thread of the server's process tree with py-spy (`pip install py-spy` into the
venv; it is not a project dependency) during a normal creation load, then prints the functions
with the most inclusive and self samples. Figures from a sampling profiler are slower than the
benchmark's; use it for proportions.

    .venv/bin/python bench/profile_create.py [--db sqlite|pg] [--n 1000] [--out raw.txt]
    .venv/bin/python bench/profile_create.py --queue all_open --size 100000 --n 200
"""

import argparse
import asyncio
import collections
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from create_tickets import BODY, creation_requests
from http_client import build_request, drive
from instance import Instance
from queue_pages import load_pages, sign_in
from server import Server

IN_PROCESS = r"""
import cProfile, json, pstats, sys, time
import django
django.setup()
from django.test import Client
from askonce.accounts.models import User
from askonce.accounts.actions import do_create_api_token

token = do_create_api_token(user=User.objects.get(email="sam@example.com"))[1]
client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
body = sys.argv[2]
count = int(sys.argv[1])

def create(index):
    payload = {"subject": f"Printer problem #{index}", "body": body,
               "requester_email": f"cust{index % 500}@example.test"}
    response = client.post("/api/v1/tickets", json.dumps(payload), content_type="application/json")
    assert response.status_code == 201, response.content

for index in range(10**6, 10**6 + 20):
    create(index)
started = time.perf_counter()
for index in range(count):
    create(index)
elapsed = time.perf_counter() - started
print(f"in-process (Django test client, no HTTP): {count / elapsed:.1f} tickets/s, "
      f"{elapsed * 1000 / count:.2f} ms per creation")
profile = cProfile.Profile()
profile.enable()
for index in range(count, 2 * count):
    create(index)
profile.disable()
for order in ("cumulative", "tottime"):
    print(f"\n--- {count} creations under cProfile, by {order} ---")
    pstats.Stats(profile, stream=sys.stdout).sort_stats(order).print_stats(45)
"""
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def summarize(raw: Path, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n--- top {top} by {title} samples ---")
        for frame, count in counter.most_common(top):
            print(f"{100 * count / max(total, 1):5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--c", type=int, default=4)
    parser.add_argument("--queue", help="profile GET /console/?queue=Q instead of creation")
    parser.add_argument("--size", type=int, default=100000, help="tickets seeded for --queue")
    parser.add_argument("--port", type=int, default=8390)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("/tmp/askonce-profile.txt"))
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="time and cProfile creations through Django's test client (no HTTP, no server)",
    )
    arguments = parser.parse_args()
    instance = Instance(database=arguments.db, name="profile").create()
    try:
        if arguments.in_process:
            print(instance.run_python("-c", IN_PROCESS, str(arguments.n), BODY))
            return
        if arguments.queue:
            instance.run_python(
                str(Path(__file__).with_name("seed_tickets.py")), str(arguments.size)
            )
        token = instance.api_token("sam@example.com")
        server = Server(
            port=arguments.port, env=instance.env, log_path=Path("/tmp/askonce-profile-serve.log")
        ).start()
        try:
            if arguments.queue:
                cookies = asyncio.run(sign_in(arguments.port))
                raw = build_request("GET", f"/console/?queue={arguments.queue}", cookies=cookies)
                asyncio.run(load_pages(arguments.port, raw, 3))
            else:
                warm = creation_requests(token, 10**6, 20, keep_alive=True)
                asyncio.run(drive(arguments.port, warm, concurrency=arguments.c, expect_status=201))
            spy = subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(server.process.pid),  # type: ignore[union-attr]
                    "--subprocesses",
                    "--nonblocking",
                    "--rate",
                    str(arguments.rate),
                    "--format",
                    "raw",
                    "--output",
                    str(arguments.out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(2)
            started = time.perf_counter()
            if arguments.queue:
                asyncio.run(load_pages(arguments.port, raw, arguments.n))
            else:
                requests = creation_requests(token, 0, arguments.n, keep_alive=True)
                result = asyncio.run(
                    drive(arguments.port, requests, concurrency=arguments.c, expect_status=201)
                )
                print(f"{arguments.n / result.wall_seconds:.1f} tickets/s under the profiler")
            print(f"load took {time.perf_counter() - started:.1f}s")
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        finally:
            server.stop()
    finally:
        instance.destroy()
    summarize(arguments.out, arguments.top)


if __name__ == "__main__":
    main()
