"""Full-text search by audience: the same queries as staff, as a customer of an organization and
as an anonymous reader, on 10,000 articles; p50 / p95 per audience, and the answers to compare.

    .venv/bin/python bench/search_audience.py [--db sqlite|pg] [--articles 10000]
        [--queries 200] [--rounds 3] [--save FILE.json] [--compare FILE.json]
        [--profile staff|customer|public] [--keep DIR]

A child process with the app's settings gets a throwaway instance (bench/instance.py: a
temporary ASKONCE_DATA_DIR, or a database of its own on ASKONCE_BENCH_PG_URL), migrates,
creates 40 organizations, a staff user and a contact of organization 1, and indexes the seeded
articles of bench/search.py (public; 10 % of one organization; 5 % staff only). The queries are
the held-out questions that bench/suggest.py types in the ask box. Each audience runs every
query once to warm up, then `--rounds` timed passes, audiences interleaved query by query:
  staff     search_documents(audience=Audience(staff=True), kinds=["article"], limit=5)
  customer  … Audience(staff=False, organization_id=<organization 1>)
  public    … Audience.public()
and the ask box's own door, kb.queries.suggested_articles(user, text), for the staff user and
the customer (bench/suggest.py's "articles" stage). `--save` writes every answer (kind, ref_id,
score, total, relaxed) so that a later run on changed code can `--compare` them; `--profile`
runs one more pass of that audience under cProfile and prints the top of it. `--keep DIR`
keeps (or reuses, when it holds one) the SQLite database in DIR to skip indexing.
"""

import argparse
import cProfile
import io
import json
import pstats
import random
import subprocess
import sys
import time
from pathlib import Path

import search as search_bench  # bench/search.py: the corpus and its articles
import suggest as suggest_bench  # bench/suggest.py: the ask box's held-out questions

HERE = Path(__file__).resolve().parent
SEED = 20261128
ORGANIZATIONS = 40
AUDIENCES = ("staff", "customer", "public")
DOORS = ("suggested_articles staff", "suggested_articles customer")


def build(articles: int) -> None:
    from django.core.management import call_command

    from askonce.accounts.actions import do_create_organization, do_create_user
    from askonce.accounts.models import User
    from askonce.search.actions import do_index_documents, do_optimize_index

    call_command("migrate", verbosity=0, interactive=False)
    organizations = [
        do_create_organization(name=f"Customer {number}") for number in range(1, ORGANIZATIONS + 1)
    ]
    do_create_user(email="agent@example.com", password=None, kind=User.Kind.STAFF)
    do_create_user(
        email="customer1@example.com",
        password=None,
        kind=User.Kind.CONTACT,
        organization=organizations[0],
    )
    corpus = search_bench.load_corpus()
    started = time.perf_counter()
    do_index_documents(
        search_bench.indexed_article(
            item,
            organizations[item.organization_id - 1].pk if item.organization_id else None,
        )
        for item in (search_bench.article(corpus, number) for number in range(articles))
    )
    do_optimize_index()
    _log(f"{articles:,} articles indexed in {time.perf_counter() - started:.1f} s")


def measure(arguments: argparse.Namespace) -> dict:
    import django

    django.setup()
    from askonce.accounts.models import User
    from askonce.kb.queries import suggested_articles
    from askonce.search.models import SearchDocument
    from askonce.search.queries import Audience, search_documents

    if not _migrated() or not SearchDocument.objects.exists():
        build(arguments.articles)
    staff = User.objects.get(email="agent@example.com")
    customer = User.objects.get(email="customer1@example.com")
    audiences = {
        "staff": Audience(staff=True),
        "customer": Audience(staff=False, organization_id=customer.organization_id),
        "public": Audience.public(),
    }
    queries = [
        text
        for text, _ in suggest_bench.held_out(
            search_bench.load_corpus(), arguments.queries, "queries"
        )
    ]

    def search(audience: str, text: str):
        return search_documents(text, audience=audiences[audience], kinds=["article"], limit=5)

    def door(name: str, text: str):
        return suggested_articles(staff if name.endswith("staff") else customer, text)

    runs = [(name, search) for name in AUDIENCES] + [(name, door) for name in DOORS]
    answers = {
        name: [_answer(function(name, text)) for text in queries] for name, function in runs
    }  # the warm-up pass, kept to compare
    timings: dict[str, list[float]] = {name: [] for name, _ in runs}
    order = list(range(len(queries)))
    for round_number in range(arguments.rounds):
        random.Random(f"{SEED}:order:{round_number}").shuffle(order)
        for number in order:
            for name, function in runs:
                began = time.perf_counter()
                function(name, queries[number])
                timings[name].append((time.perf_counter() - began) * 1000)
    outcome = {
        "database": _vendor(),
        "articles": SearchDocument.objects.count(),
        "queries": len(queries),
        "rounds": arguments.rounds,
        "latency": {name: _latency(values) for name, values in timings.items()},
        "relaxed": {
            name: sum(bool(answer["relaxed"]) for answer in answers[name]) for name in AUDIENCES
        },
        "answers": {"queries": queries, **answers},
    }
    if arguments.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for text in queries:
            search(arguments.profile, text)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        outcome["profile"] = text.getvalue()
    return outcome


def _migrated() -> bool:
    from django.db import connection

    return "search_searchdocument" in connection.introspection.table_names()


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def _answer(found) -> dict:
    if isinstance(found, list):  # suggested_articles
        return {
            "hits": [[row["id"], row["score"]] for row in found],
            "total": None,
            "relaxed": None,
        }
    return {
        "hits": [[hit.kind, hit.ref_id, round(hit.score, 6)] for hit in found.hits],
        "total": found.total,
        "relaxed": found.relaxed,
    }


def _latency(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(percent: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))], 2)

    return {"p50_ms": at(50), "p95_ms": at(95), "n": len(values)}


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def compare(before: dict, after: dict) -> list[str]:
    """Queries whose answers differ between two saved runs, by audience."""
    if before["queries"] != after["queries"]:
        return ["the saved runs have different queries"]
    differences = []
    for name in (*AUDIENCES, *DOORS):
        for number, (old, new) in enumerate(zip(before[name], after[name], strict=True)):
            if old != new:
                differences.append(
                    f"{name} #{number} {before['queries'][number][:60]!r}: {old} -> {new}"
                )
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--save", type=Path, help="write the answers to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare the answers with a saved run")
    parser.add_argument("--profile", choices=AUDIENCES, help="profile one pass of this audience")
    parser.add_argument("--keep", type=Path, help="SQLite: keep (or reuse) the database in DIR")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(measure(arguments)))
        return

    from instance import Instance, psql

    instance = Instance(database=arguments.db, name="search_audience")
    if arguments.keep and arguments.db == "sqlite":
        instance.data_dir.rmdir()
        instance.data_dir = arguments.keep
        instance.data_dir.mkdir(parents=True, exist_ok=True)
        instance.env["ASKONCE_DATA_DIR"] = str(instance.data_dir)
    try:
        if instance.pg_database:
            psql(
                f"DROP DATABASE IF EXISTS {instance.pg_database} WITH (FORCE)",
                f"CREATE DATABASE {instance.pg_database}",
            )
        child = [sys.executable, __file__, "--child", *sys.argv[1:]]
        done = subprocess.run(
            child, env=instance.env, stdout=subprocess.PIPE, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"the child exited with {done.returncode}")
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if arguments.keep and arguments.db == "sqlite":
            print(f"kept: {instance.data_dir}", file=sys.stderr)
        else:
            instance.destroy()

    print(
        f"{outcome['database']}, {outcome['articles']:,} articles, {outcome['queries']} queries "
        f"x {outcome['rounds']} rounds; relaxed (no article had every word): {outcome['relaxed']}"
    )
    print("| audience | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, latency in outcome["latency"].items():
        print(f"| {name} | {latency['p50_ms']} | {latency['p95_ms']} |")
    if arguments.save:
        arguments.save.write_text(json.dumps(outcome["answers"], indent=0))
    if arguments.compare:
        differences = compare(json.loads(arguments.compare.read_text()), outcome["answers"])
        print(f"answers compared with {arguments.compare}: {len(differences)} differ")
        for line in differences[:20]:
            print(f"  {line}")
    if "profile" in outcome:
        print(outcome["profile"])


if __name__ == "__main__":
    main()
