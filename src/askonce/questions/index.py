"""The process's view of the question index: the vectors of every stored question, loaded on
first use and kept current by catching up on rows written by any process since.

Each process (web, worker) holds its own copy; a read first loads the questions with an id
above the highest it knows, so a question indexed by the worker is found by the web process at
its next search without any message between them.
"""

import logging
import threading

import numpy as np

from askonce.questions.matching import GroupScore, rank_groups
from askonce.questions.models import Question
from askonce.questions.vectors import Neighbour, VectorIndex
from askonce.search.embeddings import EMBEDDING_DIMENSIONS, MODEL_NAME

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_index: VectorIndex | None = None


def vector_of(question: Question) -> np.ndarray | None:
    if not question.embedding:
        return None
    return np.frombuffer(bytes(question.embedding), dtype=np.float32)


def question_index() -> VectorIndex:
    """The index, caught up with every question stored so far."""
    global _index
    with _lock:
        if _index is None:
            _index = VectorIndex(EMBEDDING_DIMENSIONS)
        index = _index
        rows = (
            Question.objects.filter(pk__gt=index.max_key, embedding_model=MODEL_NAME)
            .order_by("pk")
            .values_list("pk", "repeat_of_id", "embedding")
        )
        keys, groups, vectors = [], [], []
        for key, repeat_of, blob in rows.iterator(chunk_size=2000):
            if blob is None:
                continue
            keys.append(key)
            # A question's group is the first asking it repeats (itself when it is the first).
            groups.append(repeat_of or key)
            vectors.append(np.frombuffer(bytes(blob), dtype=np.float32))
        if keys:
            index.add(keys, np.vstack(vectors), groups=groups)
            if len(keys) > 1000:
                logger.info(
                    "question index: loaded %d questions (%d in all)", len(keys), len(index)
                )
    return index


def nearest_questions(
    vector: np.ndarray, *, k: int = 10, exclude: set[int] | None = None
) -> list[Neighbour]:
    return question_index().search(vector, k=k, exclude=exclude)


def matching_groups(vector: np.ndarray, *, exclude: set[int] | None = None) -> list[GroupScore]:
    """Earlier questions grouped by what they ask, best first (see matching.py)."""
    return rank_groups(question_index(), vector, exclude=exclude)


def forget_question_index() -> None:
    """Drop the process's copy (tests: each has its own database rows)."""
    global _index
    with _lock:
        _index = None
