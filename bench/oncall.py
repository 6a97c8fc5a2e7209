"""On-call benchmark: (a) how fast an emergency mail reaches the on-call person, (b) how fast
"who is on call" answers with 200 schedules.

(a) A fresh SQLite instance with the demo data, run as `askonce serve` runs it (web server,
one worker, the built-in SMTP intake), outgoing mail relayed to an SMTP sink in this process
and every staff member's own webhook pointing at an HTTP receiver in this process. A premium
customer (alice@acme.example) mails emergency@ N times, one at a time; for each, the clock
starts when smtplib has the intake's `250` (the ticket and its page are committed by then) and
stops when the page's mail reaches the sink, and when its webhook POST reaches the receiver.
Reported: p50, p95, p99 and max of both, over N pages (after a few warm-up pages).

(b) A fresh SQLite instance with the demo data and 200 more schedules (two layers each: a weekly
rotation of three people, a business-hours layer in another zone, an override now and then),
served with `askonce serve --no-worker`; K sequential `GET /api/v1/schedules/{slug}/oncall`
for random schedules over one keep-alive connection (p50/p95), K/10 loads of the console's
"who is on call now" page (all 200 at once), and the worker's handoff-notice pass over every
schedule, timed in-process.

    timeout 1800 .venv/bin/python bench/oncall.py               # both, N=200, K=200
    timeout 900 .venv/bin/python bench/oncall.py --only paging --pages 200
    timeout 900 .venv/bin/python bench/oncall.py --only lookup --schedules 200 --k 200
    # the same against another copy of the code (e.g. before a change), first on PYTHONPATH:
    timeout 900 .venv/bin/python bench/oncall.py --only paging --source /tmp/before/src
"""

import argparse
import asyncio
import http.client
import json
import random
import re
import smtplib
import socket
import statistics
import subprocess
import threading
import time
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from http_client import Connection, build_request, percentile
from instance import ASKONCE, SOURCE, Instance
from queue_pages import sign_in

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_P99_S = 1.0
PAGE_SUBJECT = re.compile(r"\] Page #\d+: Emergency from [^:]+: (Bench emergency \d+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Arrivals:
    """When each bench emergency's first page mail and first webhook POST arrived."""

    def __init__(self) -> None:
        self.mail: dict[str, float] = {}
        self.webhook: dict[str, float] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def record(self, kind: dict[str, float], key: str) -> None:
        now = time.monotonic()
        with self.changed:
            kind.setdefault(key, now)
            self.changed.notify_all()

    def wait_for(self, key: str, timeout: float) -> tuple[float | None, float | None]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (key in self.mail and key in self.webhook):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return self.mail.get(key), self.webhook.get(key)


class SinkHandler:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=default_policy).parsebytes(
            envelope.original_content or envelope.content, headersonly=True
        )
        found = PAGE_SUBJECT.search(str(message["Subject"] or ""))
        if found:
            self.arrivals.record(self.arrivals.mail, found.group(1))
        return "250 OK"


def start_receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                summary = json.loads(body).get("page", {}).get("summary", "")
            except ValueError:
                summary = ""
            found = re.search(r"Bench emergency \d+", summary)
            if found:
                arrivals.record(arrivals.webhook, found.group(0))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server


WEBHOOKS = """
import django; django.setup()
from askonce.accounts.models import User
from askonce.notify.webhooks import do_create_webhook_endpoint
for person in User.objects.filter(kind="staff", is_active=True):
    do_create_webhook_endpoint(name="bench phone", url="{url}/" + person.email, user=person)
print(User.objects.filter(kind="staff").count())
"""


def wait_for_smtp(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the SMTP intake did not answer on port {port}")


def emergency(index: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Alice Archer <alice@acme.example>"
    message["To"] = "emergency@example.com"
    message["Subject"] = f"Bench emergency {index}"
    message["Message-ID"] = f"<bench-emergency-{index}-{time.time_ns()}@acme.example>"
    message.set_content("Every POP answers 503 since a minute ago.\n")
    return message


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(percentile(ordered, 50) * 1000, 1),
        "p95_ms": round(percentile(ordered, 95) * 1000, 1),
        "p99_ms": round(percentile(ordered, 99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def bench_paging(pages: int, warmup: int, gap: float) -> dict[str, Any]:
    arrivals = Arrivals()
    sink_port = free_port()
    sink = Controller(SinkHandler(arrivals), hostname="127.0.0.1", port=sink_port)
    sink.start()
    receiver = start_receiver(arrivals)
    instance = Instance(database="sqlite", name="oncall-paging").create()
    http_port, smtp_port = free_port(), free_port()
    env = dict(
        instance.env,
        ASKONCE_RELAY_HOST="127.0.0.1",
        ASKONCE_RELAY_PORT=str(sink_port),
        ASKONCE_SMTP_PORT=str(smtp_port),
    )
    staff = instance.run_python(
        "-c", WEBHOOKS.replace("{url}", f"http://127.0.0.1:{receiver.server_address[1]}")
    )
    log = open(instance.data_dir / "serve.log", "w")
    process = subprocess.Popen(
        [ASKONCE, "serve", "--host", "127.0.0.1", "--port", str(http_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    mail_latency: list[float] = []
    webhook_latency: list[float] = []
    missing: list[int] = []
    try:
        wait_for_smtp(smtp_port)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            for index in range(warmup + pages):
                client.send_message(emergency(index))
                sent = time.monotonic()  # smtplib returns once the 250 is read
                mailed, posted = arrivals.wait_for(f"Bench emergency {index}", timeout=15)
                if index >= warmup:
                    if mailed is None or posted is None:
                        missing.append(index)
                    else:
                        mail_latency.append(mailed - sent)
                        webhook_latency.append(posted - sent)
                # Spread the sends over the worker's poll cycle instead of locking onto it.
                time.sleep(random.uniform(0, gap))
    finally:
        import os
        import signal

        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
        receiver.shutdown()
        sink.stop()
        instance.destroy()
    if missing:
        raise RuntimeError(f"{len(missing)} page(s) never arrived: {missing[:10]}")
    mail, webhook = summary(mail_latency), summary(webhook_latency)
    return {
        "pages": pages,
        "warmup": warmup,
        "staff_with_webhooks": int(staff.strip().splitlines()[-1]),
        "mail": mail,
        "webhook": webhook,
        "target_p99_ms": TARGET_P99_S * 1000,
        "met": mail["p99_ms"] < TARGET_P99_S * 1000 and webhook["p99_ms"] < TARGET_P99_S * 1000,
    }


SEED = """
import random, time
from datetime import UTC, datetime, timedelta
import django; django.setup()
from django.utils import timezone
from askonce.accounts.models import User
from askonce.oncall.actions import LayerDraft, do_add_override, do_create_schedule
from askonce.oncall.handoffs import do_notify_shift_starts
from askonce.teams.models import Team

random.seed(7)
people = list(User.objects.filter(kind="staff", is_active=True))
teams = list(Team.objects.all())
zones = ["Europe/London", "America/New_York", "Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin"]
now = timezone.now()
for number in range({count}):
    zone = zones[number % len(zones)]
    rota = random.sample(people, 3)
    schedule = do_create_schedule(
        team=teams[number % len(teams)],
        name=f"Bench schedule {{number}}",
        slug=f"bench-{{number}}",
        time_zone=zone,
        layers=[
            LayerDraft(
                name="Weekly",
                participants=rota,
                rotation_start=datetime(2026, 1, 5, 9, tzinfo=UTC),
                time_zone=zone,
            ),
            LayerDraft(
                name="Business hours",
                participants=random.sample(people, 2),
                rotation_start=datetime(2026, 1, 5, 9, tzinfo=UTC),
                shift_unit="days",
                time_zone=zones[(number + 2) % len(zones)],
                restrictions=[{{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}}],
            ),
        ],
        actor=None,
    )
    if number % 4 == 0:
        do_add_override(
            schedule=schedule,
            user=random.choice(people),
            start=now + timedelta(hours=random.randint(-12, 48)),
            end=now + timedelta(hours=random.randint(49, 96)),
            actor=None,
        )
timings = []
for _ in range(5):
    started = time.perf_counter()
    do_notify_shift_starts()
    timings.append(time.perf_counter() - started)
print(round(min(timings) * 1000, 1), round(max(timings) * 1000, 1))
"""


async def timed_gets(
    port: int, paths: list[str], headers: dict[str, str], cookies: dict[str, str]
) -> list[float]:
    connection = Connection(port)
    try:
        for path in paths[:5]:  # warm-up
            await connection.request(build_request("GET", path, headers=headers, cookies=cookies))
        took = []
        for path in paths:
            request = build_request("GET", path, headers=headers, cookies=cookies)
            started = time.perf_counter()
            answer = await connection.request(request)
            took.append(time.perf_counter() - started)
            if answer.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {answer.status} {answer.text()[:200]}")
        return took
    finally:
        await connection.close()


def bench_lookup(count: int, k: int) -> dict[str, Any]:
    instance = Instance(database="sqlite", name="oncall-lookup").create()
    port = free_port()
    log = open(instance.data_dir / "serve.log", "w")
    process = None
    try:
        handoff_pass = instance.run_python("-c", SEED.format(count=count)).split()
        token = instance.api_token("sam@example.com")
        process = subprocess.Popen(
            [
                ASKONCE,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-worker",
                "--smtp-port",
                "0",
            ],
            env=instance.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/login/")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("askonce serve did not answer") from None
                time.sleep(0.2)
        rng = random.Random(11)
        paths = [f"/api/v1/schedules/bench-{rng.randrange(count)}/oncall" for _ in range(k)]
        api = asyncio.run(timed_gets(port, paths, {"Authorization": f"Bearer {token}"}, {}))
        cookies = asyncio.run(sign_in(port))
        listing = asyncio.run(
            timed_gets(port, ["/console/schedules/"] * max(10, k // 10), {}, cookies)
        )
    finally:
        if process is not None:
            import os
            import signal

            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)
        log.close()
        instance.destroy()
    return {
        "schedules": count + 6,
        "api_oncall": {"k": len(api), **summary(api)},
        "console_list_all": {"k": len(listing), **summary(listing)},
        "handoff_pass_ms": {"min": float(handoff_pass[0]), "max": float(handoff_pass[1])},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["paging", "lookup"])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--gap", type=float, default=1.2, help="max random pause between pages (s)")
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument(
        "--source",
        help="import askonce from this src/ folder instead of the checkout (a before/after copy)",
    )
    options = parser.parse_args()
    if options.source:
        SOURCE["pythonpath"] = str(Path(options.source).resolve())
    results: dict[str, Any] = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if options.only in (None, "paging"):
        results["paging"] = bench_paging(options.pages, options.warmup, options.gap)
        print("paging", json.dumps(results["paging"]))
    if options.only in (None, "lookup"):
        results["lookup"] = bench_lookup(options.schedules, options.k)
        print("lookup", json.dumps(results["lookup"]))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (RESULTS / f"{stamp}-oncall.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
