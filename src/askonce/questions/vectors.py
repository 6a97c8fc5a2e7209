"""An in-process nearest-neighbour index over unit vectors: exact cosine, most rows ruled out
by a third of their dimensions.

The vectors are kept in float32 (100,000 questions x 384 dimensions = 154 MB). Scoring every row
with one BLAS matrix-vector product reads all of that per search (~12 ms at 100,000 on one core,
bound by memory bandwidth). So once the index holds FIT_AT rows, the rows are stored rotated onto
their principal axes (a rotation keeps every cosine), split into the leading HEAD dimensions,
which carry most of the variance, and the rest (the tail), with each row's tail length. A search
scores every row's head (a third of the bytes); head score + |query tail| x |row tail| bounds a
row's cosine from above (Cauchy-Schwarz), and only rows whose bound reaches the k-th best exact
score found so far get their tails read. The answer is the exact top k, as a full scan gives it
(float32 rounding aside); when too many rows stay in (a query far from everything), every tail is
scored in one product instead. Float16 rows would halve the memory, but numpy converts float16
without SIMD: a search over 100,000 took 90 ms and more (bench/README.md, "Suggestions").
"""

import threading
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# Leading dimensions (after the rotation) scored for every row.
HEAD = 128
# Rows at which the rotation is fitted; below it a full scan is as fast (0.65 against 0.49 ms
# at 8,000 questions, 2.3 against 1.1 at 32,000). Later rows are rotated with it: results stay
# exact, and only the speed would suffer if what people ask drifted far from the first ones.
FIT_AT = 8_192
# More candidates than this share of the rows: score every tail in one product instead.
FULL_SCAN_SHARE = 8
# Float32 rounding of the two partial products, so that a bound equal to the threshold counts.
SLACK = 1e-4
# Rows kept sorted per thread for the last query: one /suggest asks 20, then 25 (a deeper
# cache makes the first search slower: its threshold is the 64th best, p95 9.9 against 5.5 ms).
CACHE_DEPTH = 32
# Room grows by an eighth at a time: adding one question does not copy the others, and the
# unused tail stays under 12.5 % of the matrix.
GROWTH = 8
MIN_CAPACITY = 1024


@dataclass(frozen=True)
class Neighbour:
    key: int
    score: float


@dataclass(frozen=True, slots=True)
class _Rows:
    """What a reader sees: the first `count` rows. The writer appends past `count` in place and
    publishes a new _Rows, so a search that started earlier keeps scoring the rows it saw; a
    replaced row, a new rotation or more room is written to new arrays."""

    keys: np.ndarray
    head: np.ndarray  # (capacity, HEAD) rotated; without a rotation, the whole vectors
    tail: np.ndarray  # (capacity, dimensions - HEAD) rotated; (capacity, 0) without one
    tail_norms: np.ndarray  # (capacity,)
    rotation: np.ndarray | None  # (dimensions, dimensions): rotated = vector @ rotation
    count: int
    generation: int

    @property
    def capacity(self) -> int:
        return int(self.keys.shape[0])


class VectorIndex:
    """Keys (question ids) and their vectors; thread-safe for one writer and many readers."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._lock = threading.Lock()
        self._rows = self._empty(0, rotation=None, generation=0)
        self._max_key = 0
        self._position: dict[int, int] = {}
        # What each key asks (in the product: the first asking it repeats), and per group the
        # sum and count of its vectors, so a group's centroid costs nothing to look up.
        self._group_of: dict[int, Hashable] = {}
        self._group_first: dict[Hashable, int] = {}
        self._group_sum: dict[Hashable, np.ndarray] = {}
        # Per thread, the best rows of its last query: one /suggest looks up the same
        # question's vector twice (the group that answers it, then solved questions like it).
        self._last_query = threading.local()

    def __len__(self) -> int:
        return self._rows.count

    @property
    def max_key(self) -> int:
        return self._max_key

    def reserve(self, rows: int) -> None:
        """Make room for `rows` vectors in all, so that loading them copies nothing."""
        with self._lock:
            if rows > self._rows.capacity:
                self._publish(self._moved(self._rows, rows), self._rows.count)

    def add(
        self,
        keys: Iterable[int],
        vectors: np.ndarray,
        *,
        groups: Sequence[Hashable] | None = None,
    ) -> None:
        """Add or replace vectors (rows must be unit length), each in a group (default: its own
        key). Replacing a key's vector does not move it to another group."""
        keys = list(keys)
        if not keys:
            return
        full = np.asarray(vectors, dtype=np.float32).reshape(len(keys), self.dimensions)
        with self._lock:
            rows = self._rows
            new_at: list[int] = []
            replaced: list[tuple[int, int]] = []  # (row, position in `keys`)
            seen: dict[int, int] = {}
            for position, key in enumerate(keys):
                at = self._position.get(key, seen.get(key))
                if at is None:
                    seen[key] = rows.count + len(new_at)
                    new_at.append(position)
                else:
                    replaced.append((at, position))
            count = rows.count + len(new_at)
            if replaced or count > rows.capacity:
                # A reader may be scoring these rows right now: write to new arrays.
                rows = self._moved(rows, max(count, rows.capacity))
            if new_at:
                self._write(rows, slice(rows.count, count), full[new_at])
                rows.keys[rows.count : count] = [keys[position] for position in new_at]
            for at, position in replaced:
                self._write(rows, slice(at, at + 1), full[position : position + 1])
            if rows.rotation is None and count >= FIT_AT:
                rows = self._fitted(rows, count)
            self._position.update(seen)
            self._max_key = max(self._max_key, max(keys))
            self._publish(rows, count)
            for position, key in enumerate(keys):
                if key not in self._group_of:
                    group = groups[position] if groups is not None else key
                    self._join(key, group, full[position])

    def _empty(self, capacity: int, *, rotation: np.ndarray | None, generation: int) -> _Rows:
        head_width = self.dimensions if rotation is None else min(HEAD, self.dimensions)
        return _Rows(
            keys=np.empty(capacity, dtype=np.int64),
            head=np.empty((capacity, head_width), dtype=np.float32),
            tail=np.empty((capacity, self.dimensions - head_width), dtype=np.float32),
            tail_norms=np.zeros(capacity, dtype=np.float32),
            rotation=rotation,
            count=0,
            generation=generation,
        )

    def _moved(self, rows: _Rows, needed: int) -> _Rows:
        """The same rows in new arrays with room for `needed` (grown by an eighth at least)."""
        capacity = needed
        if needed > rows.capacity:
            capacity = max(needed, rows.capacity * (GROWTH + 1) // GROWTH, MIN_CAPACITY)
        moved = self._empty(capacity, rotation=rows.rotation, generation=rows.generation)
        for name in ("keys", "head", "tail", "tail_norms"):
            getattr(moved, name)[: rows.count] = getattr(rows, name)[: rows.count]
        return _Rows(
            keys=moved.keys,
            head=moved.head,
            tail=moved.tail,
            tail_norms=moved.tail_norms,
            rotation=rows.rotation,
            count=rows.count,
            generation=rows.generation,
        )

    def _write(self, rows: _Rows, at: slice, vectors: np.ndarray) -> None:
        if rows.rotation is None:
            rows.head[at] = vectors
            return
        rotated = vectors @ rows.rotation
        width = rows.head.shape[1]
        rows.head[at] = rotated[:, :width]
        rows.tail[at] = rotated[:, width:]
        rows.tail_norms[at] = np.linalg.norm(rotated[:, width:], axis=1)

    def _vectors(self, rows: _Rows, at: slice | int) -> np.ndarray:
        """Stored rows as they were added (un-rotated)."""
        if rows.rotation is None:
            return rows.head[at]
        rotated = np.concatenate([rows.head[at], rows.tail[at]], axis=-1)
        return rotated @ rows.rotation.T

    def _fitted(self, rows: _Rows, count: int) -> _Rows:
        """The rows rotated onto the principal axes of the first `count` (PCA without centring:
        the axes along which the unit vectors reach furthest, largest first)."""
        original = self._vectors(rows, slice(0, count))
        second_moment = (original.T @ original).astype(np.float64)
        values, axes = np.linalg.eigh(second_moment)
        rotation = np.ascontiguousarray(axes[:, np.argsort(values)[::-1]], dtype=np.float32)
        fitted = self._empty(rows.capacity, rotation=rotation, generation=rows.generation)
        fitted.keys[:count] = rows.keys[:count]
        self._write(fitted, slice(0, count), original)
        return _Rows(
            keys=fitted.keys,
            head=fitted.head,
            tail=fitted.tail,
            tail_norms=fitted.tail_norms,
            rotation=rotation,
            count=rows.count,
            generation=rows.generation,
        )

    def _publish(self, rows: _Rows, count: int) -> None:
        # Swapping one reference is atomic: readers see the old rows or the new, never a mix.
        self._rows = _Rows(
            keys=rows.keys,
            head=rows.head,
            tail=rows.tail,
            tail_norms=rows.tail_norms,
            rotation=rows.rotation,
            count=count,
            generation=rows.generation + 1,
        )

    def _join(self, key: int, group: Hashable, vector: np.ndarray) -> None:
        # Most questions are alone in their group: only groups of two or more keep a sum, so
        # 100,000 singletons cost a dict entry each, not another 384 floats.
        self._group_of[key] = group
        first = self._group_first.setdefault(group, key)
        if first == key:
            return
        total = self._group_sum.get(group)
        if total is None:
            total = self._vector(first)
        self._group_sum[group] = total + vector

    def _vector(self, key: int) -> np.ndarray:
        return np.asarray(self._vectors(self._rows, self._position[key]), dtype=np.float32)

    def search(
        self, vector: np.ndarray, *, k: int = 10, exclude: set[int] | None = None
    ) -> list[Neighbour]:
        """The k keys whose vectors have the highest cosine with `vector`, best first."""
        rows = self._rows
        if not rows.count or k < 1:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(self.dimensions)
        wanted = min(rows.count, k + len(exclude or ()))
        best, scores = self._best(rows, query, wanted)
        found = []
        for key, score in zip(rows.keys[best].tolist(), scores.tolist(), strict=True):
            if exclude and key in exclude:
                continue
            found.append(Neighbour(key=key, score=score))
            if len(found) == k:
                break
        return found

    def _best(self, rows: _Rows, query: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
        """At least `wanted` rows, best first, and their cosines; the last query's are reused."""
        last = getattr(self._last_query, "value", None)
        if (
            last is not None
            and last[0] == rows.generation
            and len(last[2]) >= wanted
            and np.array_equal(last[1], query)
        ):
            return last[2], last[3]
        depth = min(rows.count, max(wanted, CACHE_DEPTH))
        best, scores = _exact_top(rows, query, depth)
        self._last_query.value = (rows.generation, query.copy(), best, scores)
        return best, scores

    def group_of(self, key: int) -> Hashable:
        return self._group_of.get(key, key)

    def centroid(self, group: Hashable) -> np.ndarray | None:
        """The unit-length mean of the group's vectors."""
        total = self._group_sum.get(group)
        if total is None:
            first = self._group_first.get(group)
            if first is None:
                return None
            total = self._vector(first)
        norm = float(np.linalg.norm(total))
        return total / norm if norm else None

    def memory_bytes(self) -> int:
        """Bytes of the vectors and keys as allocated (room for the next rows included)."""
        rows = self._rows
        arrays = (rows.keys, rows.head, rows.tail, rows.tail_norms)
        return int(sum(array.nbytes for array in arrays))


def _exact_top(rows: _Rows, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The `depth` rows with the highest cosine, best first, and their cosines."""
    count = rows.count
    if rows.rotation is None:
        return _sorted_top(rows.head[:count] @ query, depth)
    rotated = query @ rows.rotation
    width = rows.head.shape[1]
    head_query, tail_query = rotated[:width], rotated[width:]
    partial = rows.head[:count] @ head_query
    bound = rows.tail_norms[:count] * float(np.linalg.norm(tail_query))
    bound += partial
    probe = min(count, 2 * depth)
    if probe == count:
        return _sorted_top(partial + rows.tail[:count] @ tail_query, depth)
    # The depth-th best exact score among the rows with the highest bounds: no row whose bound
    # is below it can be among the best `depth`.
    probed = np.argpartition(bound, count - probe)[count - probe :]
    probed_scores = partial[probed] + rows.tail[probed] @ tail_query
    threshold = np.partition(probed_scores, probe - depth)[probe - depth] - SLACK
    candidates = np.flatnonzero(bound >= threshold)
    if len(candidates) > count // FULL_SCAN_SHARE:
        return _sorted_top(partial + rows.tail[:count] @ tail_query, depth)
    scores = partial[candidates] + rows.tail[candidates] @ tail_query
    best, best_scores = _sorted_top(scores, depth)
    return candidates[best], best_scores


def _sorted_top(scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    count = len(scores)
    if depth < count:
        top = np.argpartition(scores, count - depth)[count - depth :]
    else:
        top = np.arange(count)
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]
