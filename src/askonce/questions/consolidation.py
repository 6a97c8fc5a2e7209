"""The worker's regrouping of open questions. The index links a repeat at first sight, one
question at a time, and never looks back; every hour the worker groups the open questions
anew, all together (grouping.group_questions, with the other recent questions as history: the
function `askonce eval --task group` measures), so a repeat ends up with the questions it is
most like, and two gaps that turn out to be the same question become one.

Open questions are those of groups that no article answers and whose gap has no draft yet:
an answered or drafted group is settled and is left as it is.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from askonce.core.events import record_event
from askonce.questions.gaps import do_consider_gap, do_merge_gap, do_move_gap
from askonce.questions.grouping import group_questions
from askonce.questions.index import forget_question_index
from askonce.questions.models import Gap, GapStatus, Question
from askonce.search.embeddings import MODEL_NAME

logger = logging.getLogger(__name__)

# The groups of the most recent questions are regrouped: 5,000 questions take ~16 s of numpy on
# one core (the grouping is O(n^2) in the number of questions).
REGROUP_LIMIT = 5_000
# Earlier questions the grouping learns the words' topics from and smooths over (grouping.py):
# as many as the stackoverflow train set it was measured with. 5,000 open questions and 12,000
# earlier ones take ~6 s more on one core and ~120 MB more while it runs.
HISTORY_LIMIT = 12_000


@dataclass(frozen=True)
class Regrouping:
    questions: int  # open questions grouped
    moved: int  # questions whose first asking changed
    gaps_opened: int
    gaps_merged: int


@dataclass(frozen=True)
class _Open:
    keys: list[int]  # oldest first
    repeat_of: dict[int, int | None]
    vectors: np.ndarray
    texts: list[str]


def _open_questions(limit: int) -> _Open:
    recent = Question.objects.filter(embedding_model=MODEL_NAME).order_by("-asked_at", "-pk")
    roots = {
        repeat_of or key for key, repeat_of in recent.values_list("pk", "repeat_of_id")[:limit]
    }
    answered = Question.objects.filter(Q(pk__in=roots) | Q(repeat_of_id__in=roots)).exclude(
        article_slug=""
    )
    settled = {repeat_of or key for key, repeat_of in answered.values_list("pk", "repeat_of_id")}
    settled |= set(
        Gap.objects.filter(root_id__in=roots)
        .exclude(article_slug="")
        .values_list("root_id", flat=True)
    )
    open_roots = roots - settled
    rows = (
        Question.objects.filter(embedding_model=MODEL_NAME)
        .filter(Q(pk__in=open_roots) | Q(repeat_of_id__in=open_roots))
        .exclude(embedding=None)
        .order_by("asked_at", "pk")
        .values_list("pk", "repeat_of_id", "embedding", "text")
    )
    keys: list[int] = []
    repeat_of: dict[int, int | None] = {}
    vectors: list[np.ndarray] = []
    texts: list[str] = []
    for key, root, blob, text in rows.iterator(chunk_size=2000):
        if blob is None:
            continue
        keys.append(key)
        repeat_of[key] = root
        vectors.append(np.frombuffer(bytes(blob), dtype=np.float32))
        texts.append(text)
    return _Open(keys=keys, repeat_of=repeat_of, vectors=_matrix(vectors), texts=texts)


def _matrix(vectors: list[np.ndarray]) -> np.ndarray:
    return np.vstack(vectors) if vectors else np.empty((0, 0), dtype=np.float32)


def _history(open_keys: list[int], limit: int) -> tuple[np.ndarray, list[str]]:
    """The most recent other questions (answered, drafted or older): embeddings and texts."""
    exclude = set(open_keys)
    rows = (
        Question.objects.filter(embedding_model=MODEL_NAME)
        .exclude(embedding=None)
        .order_by("-asked_at", "-pk")
        .values_list("pk", "embedding", "text")
    )
    vectors: list[np.ndarray] = []
    texts: list[str] = []
    for key, blob, text in rows[: limit + len(exclude)].iterator(chunk_size=2000):
        if key in exclude or blob is None or len(texts) >= limit:
            continue
        vectors.append(np.frombuffer(bytes(blob), dtype=np.float32))
        texts.append(text)
    return _matrix(vectors), texts


def do_regroup_open_questions(*, limit: int = REGROUP_LIMIT) -> Regrouping:
    """Group the open questions anew and make the stored groups say so: each question repeats
    the first asking of its group (or none, when it is that first asking); a group asked twice
    or more has one open gap (two gaps of one group merge into the older root's); a gap whose
    askings all went elsewhere closes into the gap they joined. Idempotent: a second run with
    no new question changes nothing."""
    found = _open_questions(limit)
    if not found.keys:
        return Regrouping(0, 0, 0, 0)
    history_vectors, history_texts = _history(found.keys, HISTORY_LIMIT)
    rows, _ = group_questions(
        found.vectors,
        found.texts,
        history_vectors,
        history_texts,
        threshold=settings.QUESTION_REPEAT_THRESHOLD,
    )
    root_of = {key: found.keys[row] for key, row in zip(found.keys, rows, strict=True)}
    members: dict[int, list[int]] = defaultdict(list)
    for key in found.keys:
        members[root_of[key]].append(key)
    wanted = {key: (None if root_of[key] == key else root_of[key]) for key in found.keys}
    moved = [key for key in found.keys if wanted[key] != found.repeat_of[key]]
    if not moved:
        return Regrouping(len(found.keys), 0, 0, 0)
    position = {key: row for row, key in enumerate(found.keys)}
    opened = merged = 0
    with transaction.atomic():
        updates = []
        for key in moved:
            root = wanted[key]
            similarity = (
                float(found.vectors[position[key]] @ found.vectors[position[root]])
                if root is not None
                else None
            )
            updates.append(Question(pk=key, repeat_of_id=root, similarity=similarity))
        Question.objects.bulk_update(updates, ["repeat_of", "similarity"], batch_size=500)
        moved_by_group: dict[int, list[int]] = defaultdict(list)
        for key in moved:
            moved_by_group[root_of[key]].append(key)
        for root, keys in moved_by_group.items():
            record_event(
                verb="question.regrouped",
                subject_type="question",
                subject_id=root,
                data={
                    "questions": keys,
                    "earlier_roots": sorted({found.repeat_of[key] or key for key in keys}),
                    "group_size": len(members[root]),
                },
            )
        opened, merged = _reconcile_gaps(found, root_of, members)
    # This process matches new questions against the groups it loaded: load them again.
    forget_question_index()
    logger.info(
        "regrouped %d open question(s): %d moved, %d gap(s) opened, %d merged",
        len(found.keys),
        len(moved),
        opened,
        merged,
    )
    return Regrouping(len(found.keys), len(moved), opened, merged)


def _reconcile_gaps(
    found: _Open, root_of: dict[int, int], members: dict[int, list[int]]
) -> tuple[int, int]:
    """One open gap per group asked twice or more; returns (gaps opened, gaps merged)."""
    gaps = {gap.root_id: gap for gap in Gap.objects.filter(root_id__in=found.keys)}
    open_by_group: dict[int, list[Gap]] = defaultdict(list)
    for gap in gaps.values():
        if gap.status == GapStatus.OPEN:
            open_by_group[root_of[gap.root_id]].append(gap)
    opened = merged = 0
    gap_of_group: dict[int, Gap] = {}
    for root, keys in members.items():
        if len(keys) < 2:
            continue
        candidates = open_by_group.get(root, [])
        survivor = gaps.get(root)
        if survivor is None and candidates:
            survivor = min(candidates, key=lambda gap: (gap.opened_at, gap.pk))
            do_move_gap(gap=survivor, root=Question.objects.get(pk=root))
        if survivor is None:
            repeat = Question.objects.select_related("repeat_of").get(pk=keys[1])
            survivor = do_consider_gap(repeat)
            opened += survivor is not None
        elif survivor.status == GapStatus.CLOSED:
            # A gap closed by an earlier regrouping, whose question is asked twice again.
            survivor = do_consider_gap(Question.objects.select_related("repeat_of").get(pk=keys[1]))
        if survivor is None:
            continue
        gap_of_group[root] = survivor
        for gap in candidates:
            if gap.pk != survivor.pk:
                do_merge_gap(gap=gap, into=survivor, reason=f"same question as gap #{survivor.pk}")
                merged += 1
    for root, keys in members.items():
        if len(keys) > 1:
            continue
        for gap in open_by_group.get(root, []):
            # Asked once now: its other askings went to other groups; follow most of them.
            went_to = Counter(
                root_of[key]
                for key, earlier in found.repeat_of.items()
                if earlier == gap.root_id and root_of[key] in gap_of_group
            )
            into = gap_of_group[went_to.most_common(1)[0][0]] if went_to else None
            reason = (
                f"its askings joined gap #{into.pk}"
                if into is not None
                else "its askings turned out to be different questions"
            )
            do_merge_gap(gap=gap, into=into, reason=reason)
            merged += 1
    return opened, merged
