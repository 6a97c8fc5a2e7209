"""`askonce eval`: the quality of the question index on public labelled sets, through the same
encoder, vector index and scoring the product uses (`askonce.questions.matching`).

Datasets are read in the formats of ../shared/data: banking77 CSV (`text,category`), clinc150
JSON (`{"train": [[text, intent], ...], "val": ..., "oos_val": ...}`) and the intent-clustering
TSV (`text<TAB>label`). A file argument may name a part: `train.csv:held` (every tenth question
of each intent, the dev part held back from memory), `train.csv:rest` (the others),
`train_val.json:val,oos_val` (those splits of a clinc file). The group task takes `--queries`
(the questions to group) and `--memory` (earlier questions: their texts only), grouped by
`grouping.group_questions`, the function the worker's regrouping calls (consolidation.py).
"""

import csv
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from askonce.questions.grouping import group_questions
from askonce.questions.lexical import TextLexicon
from askonce.questions.matching import OUT_OF_SCOPE, rank_groups
from askonce.questions.vectors import VectorIndex
from askonce.search.embeddings import EMBEDDING_DIMENSIONS, SentenceEncoder

HELD_EVERY = 10  # one question in ten of each intent is held back as dev queries


@dataclass
class LabelledSet:
    name: str
    texts: list[str]
    labels: list[str]


def _split_spec(spec: str) -> tuple[Path, list[str]]:
    path, _, parts = spec.partition(":")
    if not path:
        raise ValueError("empty dataset path")
    return Path(path), [part for part in parts.split(",") if part]


def load_set(spec: str) -> LabelledSet:
    """Read one labelled set; raises ValueError naming the file on anything unexpected."""
    path, parts = _split_spec(spec)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        splits = parts or ["train"]
        unknown = [name for name in splits if name not in data]
        if unknown:
            raise ValueError(f"{path}: no split {', '.join(unknown)} (has {', '.join(data)})")
        rows = [(str(text), str(intent)) for name in splits for text, intent in data[name]]
        # clinc's out-of-scope questions are labelled "oos": they have no answer in memory.
        rows = [(text, OUT_OF_SCOPE if intent == "oos" else intent) for text, intent in rows]
        return LabelledSet(spec, [t for t, _ in rows], [label for _, label in rows])
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader)
        rows = [(row[0], row[1]) for row in reader if len(row) >= 2]
    if len(header) < 2:
        raise ValueError(f"{path}: expected two columns (text, label), got {header}")
    if parts:
        seen: dict[str, int] = defaultdict(int)
        held: list[tuple[str, str]] = []
        rest: list[tuple[str, str]] = []
        for text, label in rows:
            (held if seen[label] % HELD_EVERY == 0 else rest).append((text, label))
            seen[label] += 1
        chosen = {"held": held, "rest": rest}
        if any(part not in chosen for part in parts):
            raise ValueError(f"{path}: parts of a CSV/TSV file are 'held' and 'rest'")
        rows = [row for part in parts for row in chosen[part]]
    return LabelledSet(spec, [t for t, _ in rows], [label for _, label in rows])


@dataclass
class Memory:
    """Labelled questions in a vector index, as the product's index holds earlier questions."""

    index: VectorIndex
    labels: list[str]
    vectors: np.ndarray = field(repr=False)
    lexicon: TextLexicon = field(repr=False)


def build_memory(encoder: SentenceEncoder, memory: LabelledSet) -> Memory:
    vectors = encoder.encode(memory.texts)
    index = VectorIndex(EMBEDDING_DIMENSIONS)
    # An intent is what the product's repeat groups are: every asking of one question.
    index.add(range(len(memory.texts)), vectors, groups=memory.labels)
    # Word statistics over the memory, as the product keeps them over the stored questions.
    return Memory(
        index=index, labels=memory.labels, vectors=vectors, lexicon=TextLexicon(memory.texts)
    )


@dataclass
class RepeatScores:
    queries: int
    top1: float
    top3: float
    seconds: float


def evaluate_repeat(
    encoder: SentenceEncoder, memory: LabelledSet, queries: LabelledSet
) -> RepeatScores:
    """'Has this been asked before?': is the top suggestion (and the top three) of the
    question's own intent?"""
    start = time.perf_counter()
    stored = build_memory(encoder, memory)
    vectors = encoder.encode(queries.texts)
    top1 = top3 = 0
    for vector, text, label in zip(vectors, queries.texts, queries.labels, strict=True):
        ranked = rank_groups(stored.index, vector, text=text, lexicon=stored.lexicon)
        groups = [group.group for group in ranked]
        top1 += bool(groups[:1] == [label])
        top3 += label in groups[:3]
    count = len(queries.texts)
    return RepeatScores(count, top1 / count, top3 / count, time.perf_counter() - start)


@dataclass
class GapScores:
    queries: int
    threshold: float
    in_scope_accuracy: float
    out_of_scope_recall: float
    seconds: float


def evaluate_gap(
    encoder: SentenceEncoder,
    memory: LabelledSet,
    queries: LabelledSet,
    *,
    thresholds: list[float],
) -> list[GapScores]:
    """'Is there an answer, or is this new?': an in-scope question must get its own intent and
    no gap; an out-of-scope one must open a gap (its best match below the threshold). One
    result per threshold, from one encoding of the sets."""
    start = time.perf_counter()
    stored = build_memory(encoder, memory)
    vectors = encoder.encode(queries.texts)
    best_scores, right_group, is_out = [], [], []
    for vector, text, label in zip(vectors, queries.texts, queries.labels, strict=True):
        ranked = rank_groups(stored.index, vector, text=text, lexicon=stored.lexicon)
        best = ranked[0] if ranked else None
        best_scores.append(best.confidence if best else -1.0)
        right_group.append(best is not None and best.group == label)
        is_out.append(label == OUT_OF_SCOPE)
    scores = np.asarray(best_scores)
    correct, out = np.asarray(right_group), np.asarray(is_out)
    seconds = time.perf_counter() - start
    results = []
    for threshold in thresholds:
        gap = scores < threshold
        results.append(
            GapScores(
                queries=len(queries.texts),
                threshold=threshold,
                in_scope_accuracy=float((correct & ~gap & ~out).sum()) / max(int((~out).sum()), 1),
                out_of_scope_recall=float((gap & out).sum()) / max(int(out.sum()), 1),
                seconds=seconds,
            )
        )
    return results


@dataclass
class GroupScores:
    questions: int
    threshold: float
    groups: int
    true_groups: int
    nmi: float
    ari: float
    seconds: float


def evaluate_group(
    encoder: SentenceEncoder,
    questions: LabelledSet,
    *,
    threshold: float,
    history: LabelledSet | None = None,
) -> GroupScores:
    """Group unlabelled questions the way the worker's regrouping does (no group count given):
    `grouping.group_questions`, with `history` as the earlier questions the product would hold
    (their texts and embeddings only: their labels are never read). Scored against the labels
    with NMI and ARI (scikit-learn's definitions)."""
    try:
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    except ImportError as error:
        raise ValueError("the group task needs scikit-learn: pip install scikit-learn") from error
    history_texts = history.texts if history is not None else []
    history_vectors = (
        encoder.encode(history_texts)
        if history_texts
        else np.empty((0, encoder.dimension), dtype=np.float32)
    )
    start = time.perf_counter()
    vectors = encoder.encode(questions.texts)
    assigned, used = group_questions(
        vectors, questions.texts, history_vectors, history_texts, threshold=threshold
    )
    return GroupScores(
        questions=len(questions.texts),
        threshold=round(used, 3),
        groups=len(set(assigned)),
        true_groups=len(set(questions.labels)),
        nmi=float(normalized_mutual_info_score(questions.labels, assigned)),
        ari=float(adjusted_rand_score(questions.labels, assigned)),
        seconds=time.perf_counter() - start,
    )
