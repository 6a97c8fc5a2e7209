"""Full-text search benchmark: index build time and search latency, on SQLite and PostgreSQL.

    .venv/bin/python bench/search.py [--db sqlite|pg|both] [--sizes 10000,100000] [--rounds 3]

Per database and size, a child process with the app's settings gets a fresh database (a
temporary ASKONCE_DATA_DIR for SQLite; `askonce_bench_search` on ASKONCE_BENCH_PG_URL, dropped
afterwards), migrates, and builds a seeded corpus of article-like documents from the banking77
and clinc150 sentences in ../shared/data (read in place, never copied) mixed with a made-up
product vocabulary. It times do_index_documents of all N + do_optimize_index, then
search_documents in-process over a fixed list of 300 queries. README.md ("Search") says more.
"""

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("ASKONCE_BENCH_DATA", HERE.parent.parent / "shared" / "data"))
TARGET_P95_MS = 20.0  # the target, for 100,000 articles on SQLite
SEED = 20261126
ORGANIZATIONS = 40
QUERIES_PER_CLASS = 50
QUERY_CLASSES = ("common", "rare", "words", "phrase", "prefix", "question")
# English stop words as in the app (query_language.py), frozen here so that the query set
# does not change when the app's list does.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom this
    that these those am is are was were be been being have has had having do does did doing a an
    the and but if or because as until while of at by for with about against between into
    through during before after above below to from up down in out on off over under again
    further then once here there when where why how all any both each few more most other some
    such no nor not only own same so than too very s t can will just don should now d ll m o re
    ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn
    weren won wouldn im""".split()
)

# --- the corpus -------------------------------------------------------------------------------

SYLLABLES = (
    "ka lo mi ren tor vex qua zen pi dor lum sa ri mon tek bra fi gal nor es ul ven cor dax "
    "hel op tir wen yo mar sil fen pra gro"
).split()
TEMPLATES = (
    "Open {product} and go to the {feature} settings.",
    "If {product} shows error {code}, restart the {feature} service and try again.",
    "The {feature} option is available on the {plan} plan.",
    "Quote the reference {code} when you contact us about {feature}.",
    "Since version {version}, {product} keeps {feature} records for {days} days.",
    "Use the {feature} tab in {product} to change how {other} works.",
    "Administrators can turn {feature} off for the whole organization.",
    "Check that {feature} and {other} are both enabled before you sync {product}.",
)
PLANS = ("starter", "standard", "premium", "enterprise")


@dataclass(frozen=True)
class Corpus:
    """Sentences by intent (those held out never appear in documents) and a vocabulary."""

    by_intent: dict[str, list[str]]
    held_out: list[tuple[str, str]]  # (sentence, intent) kept for questions
    intents: list[str]
    products: list[str]
    features: list[str]


def load_corpus(seed: int = SEED) -> Corpus:
    sentences: dict[str, list[str]] = defaultdict(list)
    with open(DATA_DIR / "banking77" / "train.csv", newline="") as banking:
        for row in csv.DictReader(banking):
            sentences[row["category"]].append(row["text"].strip())
    clinc = json.loads((DATA_DIR / "clinc150" / "train_val.json").read_text())
    for split in ("train", "val"):
        for text, intent in clinc[split]:
            sentences[intent].append(text.strip())
    rng = random.Random(seed)
    by_intent: dict[str, list[str]] = {}
    held_out: list[tuple[str, str]] = []
    for intent in sorted(sentences):
        texts = sorted(set(sentences[intent]))
        rng.shuffle(texts)
        held_out += [(text, intent) for text in texts[:4]]
        by_intent[intent] = texts[4:]
    words: set[str] = set()
    made_up: list[str] = []
    while len(made_up) < 4_060:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in words:
            words.add(word)
            made_up.append(word)
    return Corpus(
        by_intent=by_intent,
        held_out=held_out,
        intents=sorted(by_intent),
        products=[word.capitalize() for word in made_up[:60]],
        features=made_up[60:],
    )


@dataclass(frozen=True)
class Article:
    ref_id: int
    title: str
    body: str
    category: str
    visibility: str
    organization_id: int | None
    popularity: int
    made_up_terms: tuple[str, ...]  # the rare vocabulary in it, to choose rare queries from


def category_of(intent: str) -> str:
    return intent.replace("_", " ")


def article(corpus: Corpus, number: int, seed: int = SEED) -> Article:
    """Article `number` of the corpus: the same for every corpus size (own seeded generator)."""
    rng = random.Random(f"{seed}:{number}")
    intent = rng.choice(corpus.intents)
    own = corpus.by_intent[intent]
    target = rng.randint(150, 600)
    paragraphs: list[str] = []
    sentences: list[str] = []
    made_up: list[str] = []
    words = 0
    while words < target:
        draw = rng.random()
        if draw < 0.55:
            sentence = rng.choice(own)
        elif draw < 0.85:
            sentence = rng.choice(corpus.by_intent[rng.choice(corpus.intents)])
        else:
            sentence, terms = _vocabulary_sentence(corpus, rng)
            made_up += terms
        sentence = sentence[0].upper() + sentence[1:]
        sentences.append(sentence if sentence[-1] in ".?!" else sentence + ".")
        words += len(sentence.split())
        if len(sentences) >= rng.randint(3, 7):
            paragraphs.append(" ".join(sentences))
            sentences = []
    if sentences:
        paragraphs.append(" ".join(sentences))
    title = rng.choice(own)
    while len(title) > 150:  # a few sentences are paragraphs; titles are short
        title = rng.choice(own)
    draw = rng.random()
    visibility, organization_id = "public", None
    if draw < 0.10:
        visibility, organization_id = "organization", rng.randint(1, ORGANIZATIONS)
    elif draw < 0.15:
        visibility = "staff"
    return Article(
        ref_id=number,
        title=title[0].upper() + title[1:],
        body="\n\n".join(paragraphs),
        category=category_of(intent),
        visibility=visibility,
        organization_id=organization_id,
        popularity=min(int(rng.paretovariate(1.2)) - 1, 100_000),
        made_up_terms=tuple(made_up),
    )


def indexed_article(item: Article, organization_id: int | None) -> object:
    """The generated article as the help center indexes it (run with the app's settings)."""
    from askonce.search.actions import IndexedDocument

    return IndexedDocument(
        kind="article",
        ref_id=item.ref_id,
        title=item.title,
        body=item.body,
        url=f"/help/articles/a{item.ref_id}/",
        visibility=item.visibility,
        organization_id=organization_id,
        category=item.category,
        popularity=item.popularity,
    )


def _vocabulary_sentence(corpus: Corpus, rng: random.Random) -> tuple[str, list[str]]:
    # Features follow a Zipf-like law: a few in thousands of articles, a long tail in a handful.
    def feature() -> str:
        return corpus.features[min(int(rng.paretovariate(0.8)) - 1, len(corpus.features) - 1)]

    values = {
        "product": rng.choice(corpus.products),
        "feature": feature(),
        "other": feature(),
        "code": f"E{rng.randint(1000, 9999)}",
        "plan": rng.choice(PLANS),
        "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
        "days": str(rng.choice((7, 14, 30, 90))),
    }
    template = rng.choice(TEMPLATES)
    used = [values[name] for name in ("feature", "other", "code") if "{" + name + "}" in template]
    return template.format(**values), used


# --- the queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    text: str
    kind: str  # one of QUERY_CLASSES
    intent: str  # for questions: the intent of the held-out sentence, else ""


def _words(text: str) -> list[str]:
    return [word.strip(".,?!'\"()").lower() for word in text.split() if word.strip(".,?!'\"()")]


def build_queries(corpus: Corpus, seed: int = SEED) -> list[Query]:
    """300 queries, 50 per class, the same for every corpus size: rare terms are drawn from
    the first 10,000 articles, which every size contains."""
    rng = random.Random(f"{seed}:queries")
    frequency = Counter(
        word
        for texts in corpus.by_intent.values()
        for text in texts
        for word in _words(text)
        if word.isalpha() and word not in STOP_WORDS and len(word) > 2
    )
    ranked = [word for word, _ in frequency.most_common()]
    rare_terms = Counter(
        term for number in range(10_000) for term in article(corpus, number).made_up_terms
    )
    rare = sorted(term for term, count in rare_terms.items() if count <= 3)
    rare_codes = [term for term in rare if term.startswith("E")]
    rare_features = [term for term in rare if not term.startswith("E")]
    used_sentences = [text for texts in corpus.by_intent.values() for text in texts]
    questions = [(text, intent) for text, intent in corpus.held_out if len(text.split()) >= 8]
    short_sources = [text for text, _ in corpus.held_out if len(_content(text)) >= 2]

    queries: list[Query] = []
    for number in range(QUERIES_PER_CLASS):
        queries.append(Query(rng.choice(ranked[:40]), "common", ""))
        queries.append(Query(rng.choice(rare_features if number % 2 else rare_codes), "rare", ""))
        content = _content(rng.choice(short_sources))
        count = min(len(content), rng.randint(2, 4))
        start = rng.randint(0, len(content) - count)
        queries.append(Query(" ".join(content[start : start + count]), "words", ""))
        queries.append(Query(_phrase(rng, used_sentences), "phrase", ""))
        word = rng.choice([word for word in ranked[:400] if len(word) >= 5])
        queries.append(Query(word[: rng.randint(3, 5)] + "*", "prefix", ""))
        text, intent = rng.choice(questions)
        queries.append(Query(text, "question", intent))
    return queries


def _content(text: str) -> list[str]:
    return [word for word in _words(text) if word not in STOP_WORDS]


def _phrase(rng: random.Random, sentences: list[str]) -> str:
    """2 or 3 words in a row from a sentence, as people quote them: starting and ending with a
    word that is not a stop word ("credit card", "cancel my order"), not "and i need"."""
    while True:
        words = _words(rng.choice(sentences))
        length = rng.randint(2, 3)
        if len(words) < length:
            continue
        start = rng.randint(0, len(words) - length)
        phrase = words[start : start + length]
        if phrase[0] not in STOP_WORDS and phrase[-1] not in STOP_WORDS:
            return '"' + " ".join(phrase) + '"'


# --- the measurement, in a child process with the app's settings ------------------------------


def percentile(values: list[float], percent: float) -> float:
    """Nearest rank on the sorted values (as http_client.percentile)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _latency(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "mean_ms": round(statistics.fmean(values), 2),
        "max_ms": round(max(values), 2),
    }


def measure(size: int, rounds: int) -> dict:
    import django

    django.setup()
    import contention
    from django.core.management import call_command
    from django.db import connection

    from askonce.search.actions import do_index_documents, do_optimize_index
    from askonce.search.queries import Audience, search_documents

    call_command("migrate", verbosity=0, interactive=False)
    corpus = load_corpus()
    queries = build_queries(corpus)
    started = time.perf_counter()
    articles = [article(corpus, number) for number in range(size)]
    documents = [indexed_article(item, item.organization_id) for item in articles]
    generated_s = time.perf_counter() - started
    words = sum(len(item.body.split()) for item in articles)
    _log(f"{size:,} documents generated in {generated_s:.1f} s, {words / size:.0f} words each")

    started = time.perf_counter()
    written = do_index_documents(documents)
    indexed_s = time.perf_counter() - started
    started = time.perf_counter()
    do_optimize_index()
    optimized_s = time.perf_counter() - started
    _log(f"indexed in {indexed_s:.1f} s, optimized in {optimized_s:.1f} s")
    assert written == size
    del articles, documents

    audiences = [
        Audience.public(),
        Audience(staff=False, organization_id=1),
        Audience(staff=True),
    ]

    def run(number: int, query: Query) -> tuple[float, object]:
        began = time.perf_counter()
        results = search_documents(query.text, audience=audiences[number % 3], limit=20)
        return (time.perf_counter() - began) * 1000, results

    for number, query in enumerate(queries):  # warm-up: caches as on a server that runs
        run(number, query)
    quiet_wait_s = contention.wait_for_quiet(lambda: [os.getpid()])
    window = contention.start()
    timings: dict[int, list[float]] = defaultdict(list)
    answers = {}
    order = list(enumerate(queries))
    for round_number in range(rounds):
        random.Random(f"{SEED}:order:{round_number}").shuffle(order)
        for number, query in order:
            elapsed, answers[number] = run(number, query)
            timings[number].append(elapsed)
    load = contention.stop(window, [os.getpid()])
    _log("timed; comparing broad queries with exact ranking")
    window_quality = _window_quality(queries, answers, lambda number: run(number, queries[number]))

    every = [value for values in timings.values() for value in values]
    by_class = {
        kind: _latency(
            [
                value
                for number, q in enumerate(queries)
                if q.kind == kind
                for value in timings[number]
            ]
        )
        for kind in QUERY_CLASSES
    }
    outcome = {
        "size": size,
        "database": connection.vendor,
        "words_per_document": round(words / size),
        "generate_s": round(generated_s, 1),
        "index_s": round(indexed_s, 1),
        "optimize_s": round(optimized_s, 1),
        "build_s": round(indexed_s + optimized_s, 1),
        "documents_per_s": round(size / (indexed_s + optimized_s)),
        "database_mib": _database_mib(connection),
        "queries": len(queries),
        "rounds": rounds,
        "latency": _latency(every),
        "by_class": by_class,
        "results": _result_shape(queries, answers),
        "fallback": _fallback_quality(queries, answers),
        "broad_queries": window_quality,
        "slowest": sorted(
            (
                {
                    "query": queries[number].text[:80],
                    "class": queries[number].kind,
                    "median_ms": round(statistics.median(values), 2),
                    "total": answers[number].total,  # type: ignore[attr-defined]
                }
                for number, values in timings.items()
            ),
            key=lambda row: -row["median_ms"],
        )[:12],
        "quiet_wait_s": quiet_wait_s,
        "load": load,
    }
    return outcome


def _result_shape(queries: list[Query], answers: dict) -> dict[str, dict[str, int]]:
    """Per class: how many queries found nothing, how many only after relaxing."""
    shape: dict[str, dict[str, int]] = {}
    for kind in QUERY_CLASSES:
        numbers = [number for number, query in enumerate(queries) if query.kind == kind]
        shape[kind] = {
            "empty": sum(1 for number in numbers if not answers[number].hits),
            "relaxed": sum(1 for number in numbers if answers[number].relaxed),
            "broad": sum(1 for number in numbers if answers[number].total is None),
        }
    return shape


def _fallback_quality(queries: list[Query], answers: dict) -> dict[str, object]:
    """Held-out questions: does an article of the question's own intent come in the top 5,
    with the fallback to "any word" and without it (a relaxed answer counted as empty)?"""
    questions = [number for number, query in enumerate(queries) if query.kind == "question"]

    def on_topic(number: int) -> bool:
        wanted = category_of(queries[number].intent)
        return any(hit.category == wanted for hit in answers[number].hits[:5])

    with_fallback = sum(1 for number in questions if on_topic(number))
    without = sum(1 for number in questions if on_topic(number) and not answers[number].relaxed)
    return {
        "questions": len(questions),
        "answered_with_every_word": sum(
            1 for number in questions if answers[number].hits and not answers[number].relaxed
        ),
        "answered_after_relaxing": sum(1 for number in questions if answers[number].relaxed),
        "on_topic_in_top5_with_fallback": with_fallback,
        "on_topic_in_top5_without_fallback": without,
    }


def _window_quality(queries: list[Query], answers: dict, search: object) -> dict[str, object]:
    """Broad queries (more matches than the engine ranks) against exact ranking of every match:
    how many of the exact top 10 we show, and how their scores compare (1.0 = as relevant by
    the engine's own measure). The engine's limit is lifted for this only, never while timed."""
    from django.db import connection

    from askonce.search.engines import postgresql, sqlite

    engine = sqlite if connection.vendor == "sqlite" else postgresql
    broad = [number for number, answer in answers.items() if answer.total is None]
    overlaps: list[float] = []
    ratios: list[float] = []
    saved = engine.CANDIDATE_LIMIT
    engine.CANDIDATE_LIMIT = 10**9
    try:
        for number in broad:
            exact = search(number)[1]  # type: ignore[operator]
            ours = answers[number].hits[:10]
            best = exact.hits[:10]
            if not best:
                continue
            shown = {(hit.kind, hit.ref_id) for hit in ours}
            overlaps.append(sum((hit.kind, hit.ref_id) in shown for hit in best) / len(best))
            best_score = sum(hit.score for hit in best)
            if best_score > 0:
                ratios.append(sum(hit.score for hit in ours) / best_score)
    finally:
        engine.CANDIDATE_LIMIT = saved
    return {
        "broad_queries": len(broad),
        "candidate_limit": saved,
        "exact_top10_shown": round(statistics.fmean(overlaps), 3) if overlaps else None,
        "top10_score_vs_exact": round(statistics.fmean(ratios), 3) if ratios else None,
        "top10_score_vs_exact_min": round(min(ratios), 3) if ratios else None,
    }


def _database_mib(connection: object) -> float:
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        if connection.vendor == "sqlite":  # type: ignore[attr-defined]
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
        else:
            cursor.execute("SELECT pg_database_size(current_database())")
        return round(cursor.fetchone()[0] / 2**20, 1)


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- the parent: instances, table, JSON -------------------------------------------------------


def run_child(database: str, size: int, rounds: int, *, keep: bool = False) -> dict:
    from instance import Instance, psql

    instance = Instance(database=database, name="search")
    if keep:
        instance.data_dir.rmdir()  # the empty temporary one: a fixed name is easier to find
        instance.data_dir = Path(f"/tmp/askonce-bench-search-{database}-{size}")
        shutil.rmtree(instance.data_dir, ignore_errors=True)
        instance.data_dir.mkdir()
        instance.env["ASKONCE_DATA_DIR"] = str(instance.data_dir)
        if instance.pg_database:
            instance.pg_database += f"_{size}"
            instance.env["DATABASE_URL"] = instance.env["DATABASE_URL"] + f"_{size}"
    try:
        if instance.pg_database:
            psql(
                f"DROP DATABASE IF EXISTS {instance.pg_database} WITH (FORCE)",
                f"CREATE DATABASE {instance.pg_database}",
            )
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--sizes", str(size), "--rounds", str(rounds)],
            env=instance.env,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the {database} child exited with {done.returncode}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if keep:
            print(f"  kept: {instance.env.get('DATABASE_URL') or instance.data_dir}", flush=True)
        else:
            instance.destroy()


def table(outcomes: list[dict]) -> str:
    lines = [
        "| DB | documents | index build (index + optimize) | size | search p50 / p95 / p99 "
        "| p95 by class: common, rare, words, phrase, prefix, question | target p95 < 20 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        latency = outcome["latency"]
        target = ""
        if outcome["database"] == "sqlite" and outcome["size"] >= 100_000:
            target = "met" if latency["p95_ms"] < TARGET_P95_MS else "MISSED"
        classes = ", ".join(str(outcome["by_class"][kind]["p95_ms"]) for kind in QUERY_CLASSES)
        lines.append(
            f"| {outcome['database']} | {outcome['size']:,} "
            f"| {outcome['build_s']} s ({outcome['index_s']} + {outcome['optimize_s']}), "
            f"{outcome['documents_per_s']:,} docs/s | {outcome['database_mib']} MiB "
            f"| {latency['p50_ms']} / {latency['p95_ms']} / {latency['p99_ms']} ms "
            f"| {classes} | {target} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--sizes", default="10000,100000", help="documents, comma list")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database for diagnosis (/tmp/askonce-bench-search-DB-N, or the PostgreSQL "
        "database askonce_bench_search_N); drop it yourself afterwards",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    if arguments.child:
        print(json.dumps(measure(sizes[0], arguments.rounds)))
        return
    if arguments.rounds < 1 or min(sizes) < 1:
        parser.error("--rounds and --sizes must be at least 1")
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    databases = ["sqlite", "pg"] if arguments.db == "both" else [arguments.db]
    summary: dict = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {"sizes": sizes, "rounds": arguments.rounds, "seed": SEED},
        "runs": [],
    }
    if "pg" in databases:
        from instance import postgres_settings

        summary["machine"]["postgresql"] = postgres_settings()
    for database in databases:
        for size in sizes:
            print(f"search on {database} with {size:,} documents", flush=True)
            outcome = run_child(database, size, arguments.rounds, keep=arguments.keep)
            outcome["database"] = database
            outcome["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            summary["runs"].append(outcome)
            print(f"  {outcome['latency']}", flush=True)
            path = arguments.results_dir / f"{stamp}-search-{database}-{size}.json"
            path.write_text(json.dumps(outcome, indent=1))
    summary["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    summary["table"] = table(summary["runs"])
    path = arguments.results_dir / f"{stamp}-search-summary.json"
    path.write_text(json.dumps(summary, indent=1))
    print()
    print(summary["table"])
    for outcome in summary["runs"]:
        print(f"\n{outcome['database']} {outcome['size']:,}: results {outcome['results']}")
        print(f"  fallback for held-out questions: {outcome['fallback']}")
        print(f"  broad queries against exact ranking: {outcome['broad_queries']}")
        print("  slowest queries (median ms):")
        for row in outcome["slowest"][:6]:
            print(f"    {row['median_ms']:7.2f}  {row['class']:8}  {row['query']}")
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
