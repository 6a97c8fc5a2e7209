"""Diagnostic: the SQL behind each agent queue page, timed one query at a time, with plans.

Seeds a fresh instance (like the queue benchmark), then in a child process with the app's
settings renders `GET /console/?queue=Q` through Django's test client as sam@example.com,
capturing every query; each query is re-run 5 times and its best time and query plan printed.

    .venv/bin/python bench/explain_queue.py [--db sqlite|pg] [--size 100000] [--queues a,b]
"""

import argparse
import sys
from pathlib import Path

from instance import Instance

CHILD = r"""
import sys, time
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from askonce.accounts.models import User

client = Client()
client.force_login(User.objects.get(email="sam@example.com"))
explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
for queue in sys.argv[1].split(","):
    client.get(f"/console/?queue={queue}")  # warm caches
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/console/?queue={queue}")
    total = (time.perf_counter() - started) * 1000
    print(f"\n=== {queue}: HTTP {response.status_code}, {total:.1f} ms in-process, "
          f"{len(captured.captured_queries)} queries")
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            best = float("inf")
            for _ in range(5):
                began = time.perf_counter()
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()
                best = min(best, (time.perf_counter() - began) * 1000)
            print(f"  {best:8.2f} ms  {sql[:300]}")
            if best > 5 and sql.lstrip().upper().startswith("SELECT"):
                cursor.execute(explain + sql)
                for row in cursor.fetchall():
                    print("             plan:", " | ".join(str(part) for part in row))
"""

PROFILE = r"""
import cProfile, pstats, sys
import django
django.setup()
from django.test import Client
from askonce.accounts.models import User

client = Client()
client.force_login(User.objects.get(email="sam@example.com"))
for queue in sys.argv[1].split(","):
    client.get(f"/console/?queue={queue}")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(10):
        client.get(f"/console/?queue={queue}")
    profile.disable()
    print(f"\n=== {queue}: 10 loads in-process under cProfile")
    pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(35)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--queues", default="unclaimed,all_open,mine,with_team,overdue")
    parser.add_argument("--profile", action="store_true", help="also cProfile 10 loads per queue")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE after seeding")
    arguments = parser.parse_args()
    instance = Instance(database=arguments.db, name="explain").create()
    try:
        print(
            instance.run_python(
                str(Path(__file__).with_name("seed_tickets.py")), str(arguments.size)
            )
        )
        if arguments.analyze:
            code = "import django; django.setup()\nfrom django.db import connection\n"
            code += "connection.cursor().execute('ANALYZE')"
            instance.run_python("-c", code)
        print(instance.run_python("-c", CHILD, arguments.queues))
        if arguments.profile:
            print(instance.run_python("-c", PROFILE, arguments.queues))
    finally:
        instance.destroy()


if __name__ == "__main__":
    sys.exit(main())
