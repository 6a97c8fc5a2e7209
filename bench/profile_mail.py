"""Diagnostic: where the SMTP intake spends its CPU, per message.

Starts the intake (`make_server`, as `askonce smtpd` does) inside a throwaway instance's Python
with cProfile enabled on the storing process (its thread that reads the SMTP front's requests
and stores the batches; the front, a child process, is not profiled), sends N
messages from C smtplib connections in a separate process (so the client shares neither the
profile nor the GIL), and prints messages/s under the profiler, the average batch size, and
the functions by cumulative and own time. Figures under cProfile are 2-3x slower than the
benchmark's; use them for proportions.

    .venv/bin/python bench/profile_mail.py [--db sqlite|pg] [--n 1000] [--c 16] [--top 60]

`--top 0`: no profiler; messages/s, how much of the time the storing thread was busy storing,
and each batch's wall and CPU time.
"""

import argparse
import pickle
import tempfile
from pathlib import Path

from instance import Instance
from mail_intake import messages

IN_PROCESS = r"""
import cProfile, multiprocessing, pickle, pstats, smtplib, sys, threading, time
import django
django.setup()
from askonce.mail import smtp

batch_file, concurrency, top, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 8398
sys.path.insert(0, sys.argv[4])  # bench/, for the client the benchmark itself uses
from mail_intake import send_all
warm, timed = pickle.loads(open(batch_file, "rb").read())
drains = {"batches": 0, "wall": 0.0, "cpu": 0.0}
original_store = smtp.store_batch


def counted_store(messages):
    drains["batches"] += 1
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        return original_store(messages)
    finally:
        drains["wall"] += time.perf_counter() - wall
        drains["cpu"] += time.thread_time() - cpu


smtp.store_batch = counted_store
server = smtp.make_server("127.0.0.1", port)
server.start()


def send(items):
    latencies, errors = send_all(port, items, concurrency)
    assert not errors, errors[:3]


def in_child(items):
    child = multiprocessing.get_context("fork").Process(target=send, args=(items,))
    child.start()
    child.join()


in_child(warm)
drains.update(batches=0, wall=0.0, cpu=0.0)
if top == 0:  # timing only, no profiler
    started = time.perf_counter()
    in_child(timed)
    elapsed = time.perf_counter() - started
    server.stop()
    batches = max(drains["batches"], 1)
    print(f"{len(timed) / elapsed:.1f} messages/s, {concurrency} connections, {batches} batches "
          f"(average {len(timed) / batches:.1f}); storing busy {drains['wall'] / elapsed:.0%} "
          f"of the time; per batch {drains['wall'] * 1000 / batches:.2f} ms, of which CPU "
          f"{drains['cpu'] * 1000 / batches:.2f} ms")
    sys.exit(0)
# Since Python 3.12 cProfile observes every thread (sys.monitoring): the storing thread, where
# intake runs, is profiled; this thread only waits for the client.
profile = cProfile.Profile()
started = time.perf_counter()
profile.enable()
in_child(timed)
profile.disable()
elapsed = time.perf_counter() - started
server.stop()
print(f"{len(timed) / elapsed:.1f} messages/s under cProfile, {concurrency} connections, "
      f"{drains['batches']} batches (average {len(timed) / max(drains['batches'], 1):.1f})")
for order in ("cumulative", "tottime"):
    print(f"\n--- {len(timed)} messages, by {order} ---")
    pstats.Stats(profile, stream=sys.stdout).sort_stats(order).print_stats(top)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--c", type=int, default=16)
    parser.add_argument("--top", type=int, default=60)
    arguments = parser.parse_args()
    instance = Instance(database=arguments.db, name="profile_mail").create()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            batch_file = Path(scratch) / "messages.pickle"
            batch_file.write_bytes(pickle.dumps((messages(50, 2), messages(arguments.n, 1))))
            print(
                instance.run_python(
                    "-c",
                    IN_PROCESS,
                    str(batch_file),
                    str(arguments.c),
                    str(arguments.top),
                    str(Path(__file__).resolve().parent),
                )
            )
    finally:
        instance.destroy()


if __name__ == "__main__":
    main()
