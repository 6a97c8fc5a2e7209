"""The words of questions as evidence for matching: TF-IDF cosine between a new question and
each of its nearest earlier questions, which `matching.rank_groups` blends into the ranking.

Words every question uses weigh little (inverse document frequency over the stored
questions), so what counts is the words that say what is asked ("refund", "pin", "top-up").
Stop words stay: "why was my card declined" and "my card was declined" differ in "why", and on
banking77 dropping them lost half of the gain (docs/questions.md, "Measured quality").

Weights follow scikit-learn's TfidfVectorizer (sublinear term frequency 1 + ln tf, smooth IDF
ln((1 + n) / (1 + df)) + 1, unit length), without its dependency.
"""

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from askonce.questions.index import question_index
from askonce.questions.matching import GroupScore, rank_groups
from askonce.questions.models import Question

_TERM = re.compile(r"\b\w\w+\b")

TermVector = dict[str, float]


def terms_of(text: str) -> list[str]:
    """Lower-case words of two characters or more: "Card declined?" -> ["card", "declined"]."""
    return _TERM.findall(text.lower())


class TermWeights:
    """Document frequencies of the words of a set of questions; adding is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents = 0
        self._frequency: dict[str, int] = {}
        self.max_key = 0

    def __len__(self) -> int:
        return self._documents

    def add(self, texts: Iterable[str]) -> None:
        with self._lock:
            for text in texts:
                self._documents += 1
                for term in set(terms_of(text)):
                    self._frequency[term] = self._frequency.get(term, 0) + 1

    def vector(self, text: str) -> TermVector:
        """The text's TF-IDF weights, unit length (empty for a text without words)."""
        documents = self._documents
        weights = {
            term: (1.0 + math.log(times))
            * (math.log((1 + documents) / (1 + self._frequency.get(term, 0))) + 1.0)
            for term, times in Counter(terms_of(text)).items()
        }
        norm = math.sqrt(sum(weight * weight for weight in weights.values()))
        return {term: weight / norm for term, weight in weights.items()} if norm else {}


def cosine(a: TermVector, b: TermVector) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())


class TextLexicon:
    """Word similarity to a fixed list of texts, keyed by position (the evaluation's memory)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.weights = TermWeights()
        self.weights.add(texts)
        self._vectors = [self.weights.vector(text) for text in texts]

    def similarities(self, text: str, keys: Sequence[int]) -> dict[int, float]:
        query = self.weights.vector(text)
        return {key: cosine(query, self._vectors[key]) for key in keys}


class StoredQuestionLexicon:
    """Word similarity to stored questions, keyed by question id; document frequencies over
    every stored question, caught up by id like the vector index (index.py)."""

    def __init__(self) -> None:
        self.weights = TermWeights()
        self._lock = threading.Lock()

    def catch_up(self) -> None:
        with self._lock:
            if (
                self.weights.max_key
                and not Question.objects.filter(pk=self.weights.max_key).exists()
            ):
                # The newest question counted is gone (a test's rolled-back rows, a restored
                # backup): count again from scratch rather than keep statistics of other rows.
                self.weights = TermWeights()
            rows = (
                Question.objects.filter(pk__gt=self.weights.max_key)
                .order_by("pk")
                .values_list("pk", "text")
            )
            newest = self.weights.max_key
            texts = []
            for key, text in rows.iterator(chunk_size=2000):
                texts.append(text)
                newest = key
            self.weights.add(texts)
            self.weights.max_key = newest

    def similarities(self, text: str, keys: Sequence[int]) -> dict[int, float]:
        query = self.weights.vector(text)
        stored = Question.objects.filter(pk__in=list(keys)).values_list("pk", "text")
        return {key: cosine(query, self.weights.vector(other)) for key, other in stored}


_lexicon_lock = threading.Lock()
_lexicon: StoredQuestionLexicon | None = None


def question_lexicon() -> StoredQuestionLexicon:
    """The process's word statistics, caught up with every question stored so far."""
    global _lexicon
    with _lexicon_lock:
        if _lexicon is None:
            _lexicon = StoredQuestionLexicon()
        lexicon = _lexicon
    lexicon.catch_up()
    return lexicon


def forget_question_lexicon() -> None:
    """Drop the process's copy (tests: each has its own database rows)."""
    global _lexicon
    with _lexicon_lock:
        _lexicon = None


def matching_groups_for(
    vector: np.ndarray, text: str, *, exclude: set[int] | None = None
) -> list[GroupScore]:
    """Earlier questions grouped by what they ask, best first, ranked by meaning and words
    (see matching.py): what decides whether a new question repeats an earlier one."""
    return rank_groups(
        question_index(), vector, exclude=exclude, text=text, lexicon=question_lexicon()
    )
