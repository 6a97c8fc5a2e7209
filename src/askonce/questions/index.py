"""The process's view of the question index: the vectors of every stored question (and, when
embeddings are off, the words of every question), loaded on first use and kept current by
catching up on rows written by any process since.

Each process (web, worker) holds its own copy; a read first loads the questions with an id
above the highest it knows, so a question indexed by the worker is found by the web process at
its next search without any message between them.
"""

import logging
import threading
import time

import numpy as np
from django.db import connection

from askonce.core.models import Event
from askonce.questions.matching import GroupScore, rank_groups
from askonce.questions.models import Question
from askonce.questions.vectors import Neighbour, VectorIndex
from askonce.questions.words import WordIndex
from askonce.search.embeddings import EMBEDDING_DIMENSIONS, MODEL_NAME

logger = logging.getLogger(__name__)

# Rows read per round trip while loading; added to the index chunk by chunk, so that loading
# 100,000 questions never holds more than one chunk of blobs beside the index itself.
LOAD_CHUNK = 2_000

_lock = threading.Lock()
_index: VectorIndex | None = None
# The worker's hourly regrouping (consolidation.py) changes which group a stored question is
# in; every process looks for its `question.regrouped` events once a minute and reloads then.
REGROUP_CHECK_SECONDS = 60.0
_regroups_seen: int | None = None  # the highest event id looked at (None: not yet)
_regroups_checked_at = 0.0
# The highest question id seen when the vectors were last caught up; questions without a
# vector (full-text-only mode) move it on too, so they are not looked at again.
_index_checked = 0
_words: WordIndex | None = None


def vector_of(question: Question) -> np.ndarray | None:
    if not question.embedding:
        return None
    return np.frombuffer(bytes(question.embedding), dtype=np.float32)


_NEWEST_ID_SQL = f"SELECT MAX(id) FROM {Question._meta.db_table}"  # noqa: S608 (a constant)


def newest_question_id() -> int:
    """The highest question id stored: one step down the primary key's b-tree.

    Every search asks this first and catches up only when it moved: the range query on the
    ORM cost ~0.7 ms (mostly building the query), twice per /suggest; this is ~0.05 ms."""
    with connection.cursor() as cursor:
        cursor.execute(_NEWEST_ID_SQL)
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def question_index() -> VectorIndex:
    """The index, caught up with every question stored so far."""
    global _index, _index_checked
    _reload_after_regrouping()
    newest = newest_question_id()
    with _lock:
        if _index is not None and newest <= _index_checked:
            return _index  # nothing stored since the last look
        newer = Question.objects.filter(embedding_model=MODEL_NAME)
        if _index is None:
            _index = VectorIndex(EMBEDDING_DIMENSIONS)
            # First load: room for all of them at once, instead of growing while they come.
            _index.reserve(newer.count())
        index = _index
        _index_checked = max(_index_checked, newest)
        newer = newer.filter(pk__gt=index.max_key)
        rows = newer.order_by("pk").values_list("pk", "repeat_of_id", "embedding")
        loaded = 0
        keys: list[int] = []
        groups: list[int] = []
        vectors: list[np.ndarray] = []
        for key, repeat_of, blob in rows.iterator(chunk_size=LOAD_CHUNK):
            if blob is None:
                continue
            keys.append(key)
            # A question's group is the first asking it repeats (itself when it is the first).
            groups.append(repeat_of or key)
            vectors.append(np.frombuffer(bytes(blob), dtype=np.float32))
            if len(keys) == LOAD_CHUNK:
                index.add(keys, np.vstack(vectors), groups=groups)
                loaded += len(keys)
                keys, groups, vectors = [], [], []
        if keys:
            index.add(keys, np.vstack(vectors), groups=groups)
            loaded += len(keys)
        if loaded > 1000:
            logger.info("question index: loaded %d questions (%d in all)", loaded, len(index))
    return index


def _reload_after_regrouping() -> None:
    """Drop the vectors (their groups) when another process regrouped questions since the last
    look; looks at most once a minute, over the events recorded since the last look only."""
    global _index, _index_checked, _regroups_seen, _regroups_checked_at
    now = time.monotonic()
    if now - _regroups_checked_at < REGROUP_CHECK_SECONDS:
        return
    _regroups_checked_at = now
    newest_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    regrouped = _regroups_seen is not None and (
        Event.objects.filter(
            id__gt=_regroups_seen, id__lte=newest_event, verb="question.regrouped"
        ).exists()
    )
    _regroups_seen = newest_event  # the first look: earlier regroupings are in what loads
    if regrouped:
        with _lock:
            if _index is not None:
                logger.info("question index: questions were regrouped; reloading their groups")
                _index = None
                _index_checked = 0


def question_word_index() -> WordIndex:
    """The words of every stored question, caught up like the vectors (full-text-only mode)."""
    global _words
    newest = newest_question_id()
    with _lock:
        if _words is not None and newest <= _words.max_key:
            return _words
        if _words is None:
            _words = WordIndex()
        words = _words
        before = len(words)
        rows = (
            Question.objects.filter(pk__gt=words.max_key)
            .order_by("pk")
            .values_list("pk", "text")
            .iterator(chunk_size=LOAD_CHUNK)
        )
        words.add(rows)
        if len(words) - before > 1000:
            logger.info(
                "question word index: loaded %d questions (%d in all)",
                len(words) - before,
                len(words),
            )
    return words


def nearest_questions(
    vector: np.ndarray, *, k: int = 10, exclude: set[int] | None = None
) -> list[Neighbour]:
    return question_index().search(vector, k=k, exclude=exclude)


def questions_with_words_of(
    text: str, *, k: int = 10, exclude: set[int] | None = None
) -> list[Neighbour]:
    """Earlier questions that share the most (and the rarest) words with `text`, best first."""
    return question_word_index().search(text, k=k, exclude=exclude)


def matching_groups(vector: np.ndarray, *, exclude: set[int] | None = None) -> list[GroupScore]:
    """Earlier questions grouped by what they ask, best first (see matching.py)."""
    return rank_groups(question_index(), vector, exclude=exclude)


def forget_question_index() -> None:
    """Drop the process's copies (tests: each has its own database rows)."""
    global _index, _index_checked, _words, _regroups_seen, _regroups_checked_at
    with _lock:
        _index = None
        _index_checked = 0
        _words = None
        _regroups_seen = None
        _regroups_checked_at = 0.0
