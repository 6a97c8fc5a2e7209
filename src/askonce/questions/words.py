"""An in-process word index over question texts, ranked by BM25: how earlier questions are
found when there are no embeddings (ASKONCE_EMBEDDINGS=off, or no model installed).

Questions are short (a subject and the start of a message), so the index is small: 100,000
questions are ~1.3 million postings, ~8 MB of arrays. Kept per process and caught up like the
vector index (index.py), and only built when something asks for it.
"""

import math
import re
import threading
from array import array
from collections import Counter
from collections.abc import Iterable

import numpy as np

from askonce.questions.vectors import Neighbour
from askonce.search.query_language import STOP_WORDS

# BM25's usual constants: term frequency saturates at k1, length normalisation b.
K1 = 1.2
B = 0.75
_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 32


def words_of(text: str) -> list[str]:
    """Lower-case words without stop words and plural endings (Porter's step 1a, which the
    full-text engines apply as well): "Cards declined?" → ["card", "declined"]."""
    found = []
    for word in _WORD.findall(text.lower()):
        if word in STOP_WORDS:
            continue
        if word.endswith(("sses", "ies")):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
        found.append(word)
    return found


class WordIndex:
    """Keys (question ids) and the words of their texts; thread-safe (one lock: a search takes
    a few milliseconds and appending to a posting list must not move it under a reader)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys = array("q")
        self._lengths = array("H")  # words per text, capped at 65,535
        self._total_length = 0
        self._rows: dict[str, array] = {}  # word -> rows that contain it
        self._frequencies: dict[str, array] = {}  # word -> times it occurs in each of them
        self._max_key = 0

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def max_key(self) -> int:
        return self._max_key

    def add(self, items: Iterable[tuple[int, str]]) -> None:
        """Add texts by key. Keys come in increasing order and are added once (catch-up by id)."""
        with self._lock:
            for key, text in items:
                row = len(self._keys)
                words = words_of(text)
                self._keys.append(key)
                self._lengths.append(min(len(words), 65_535))
                self._total_length += len(words)
                for word, times in Counter(words).items():
                    rows = self._rows.get(word)
                    if rows is None:
                        rows = self._rows[word] = array("i")
                        self._frequencies[word] = array("B")
                    rows.append(row)
                    self._frequencies[word].append(min(times, 255))
                self._max_key = max(self._max_key, key)

    def search(self, text: str, *, k: int = 10, exclude: set[int] | None = None) -> list[Neighbour]:
        """The k texts that best match the words of `text`, best first. A score is the share of
        the query's word weight that the text matches (BM25 against a text of average length
        made of exactly the query's words, so about 0..1); a text matching none is not found."""
        query = list(dict.fromkeys(words_of(text)))[:MAX_QUERY_WORDS]
        with self._lock:
            count = len(self._keys)
            if not count or not query or k < 1:
                return []
            lengths = np.frombuffer(self._lengths, dtype=np.uint16)
            average = max(self._total_length / count, 1.0)
            scores = np.zeros(count, dtype=np.float32)
            ceiling = 0.0
            for word in query:
                found = self._rows.get(word)
                if found is None:
                    continue
                rows = np.frombuffer(found, dtype=np.int32)
                times = np.frombuffer(self._frequencies[word], dtype=np.uint8).astype(np.float32)
                weight = math.log(1.0 + (count - len(rows) + 0.5) / (len(rows) + 0.5))
                norm = K1 * (1.0 - B + B * lengths[rows].astype(np.float32) / average)
                # Rows are unique within one word's list, so a plain indexed add is exact.
                scores[rows] += weight * (K1 + 1.0) * times / (times + norm)
                ceiling += weight
                del rows
            matched = int(np.count_nonzero(scores))
            if not matched:
                return []
            wanted = min(matched, k + len(exclude or ()))
            top = np.argpartition(scores, count - wanted)[count - wanted :]
            top = top[np.argsort(-scores[top], kind="stable")]
            keys = np.frombuffer(self._keys, dtype=np.int64)[top].tolist()
            values = (scores[top] / max(ceiling, 1e-9)).tolist()
            del lengths
        found_neighbours = []
        for key, score in zip(keys, values, strict=True):
            if exclude and key in exclude:
                continue
            found_neighbours.append(Neighbour(key=key, score=min(score, 1.0)))
            if len(found_neighbours) == k:
                break
        return found_neighbours

    def memory_bytes(self) -> int:
        """Bytes of the arrays (posting lists, lengths, keys), not of the dict of words."""
        postings = sum(rows.itemsize * len(rows) for rows in self._rows.values())
        postings += sum(len(times) for times in self._frequencies.values())
        return postings + self._keys.itemsize * len(self._keys) + 2 * len(self._lengths)
