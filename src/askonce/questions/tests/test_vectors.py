"""The vector index's storage: rows appended in place, room grown by an eighth, rows rotated
and split once there are enough of them, the top k still exact, the last query's rows reused
only while nothing changed."""

import threading

import numpy as np
import pytest

from askonce.questions import vectors
from askonce.questions.vectors import FIT_AT, MIN_CAPACITY, VectorIndex

ROW_BYTES = 8 * 4 + 8 + 4  # 8 float32, the key, the tail's length


def _units(count: int, dimensions: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimensions)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-(vectors @ query), kind="stable")[:k]]


def test_search_is_exact_after_adds_one_at_a_time_past_the_first_room() -> None:
    vectors = _units(MIN_CAPACITY + 300)
    index = VectorIndex(8)
    for key, vector in enumerate(vectors):
        index.add([key + 1], vector.reshape(1, 8))
    assert len(index) == len(vectors)
    assert index.max_key == len(vectors)
    assert index.memory_bytes() <= (len(vectors) * 9 // 8 + 1) * ROW_BYTES
    for query in _units(5, seed=1):
        found = index.search(query, k=7)
        assert [n.key - 1 for n in found] == _exact(vectors, query, 7)
        np.testing.assert_allclose(
            [n.score for n in found], np.sort(vectors @ query)[::-1][:7], rtol=1e-5
        )


def test_reserve_makes_room_without_changing_what_is_found() -> None:
    vectors = _units(50)
    index = VectorIndex(8)
    index.reserve(5_000)
    assert index.memory_bytes() == 5_000 * ROW_BYTES
    index.add(range(1, 51), vectors)
    assert len(index) == 50
    assert index.search(vectors[9], k=1)[0].key == 10
    index.reserve(10)  # less than there is: nothing changes
    assert len(index) == 50 and index.memory_bytes() == 5_000 * ROW_BYTES


def test_a_repeated_query_sees_rows_added_or_replaced_since() -> None:
    """The last query's scores are kept per thread, and dropped as soon as the rows change."""
    vectors = _units(20)
    index = VectorIndex(8)
    index.add(range(1, 21), vectors)
    query = vectors[3]
    assert index.search(query, k=1)[0].key == 4
    assert index.search(query, k=1)[0].key == 4  # from the kept scores
    index.add([99], query.reshape(1, 8))
    assert {n.key for n in index.search(query, k=2)} == {4, 99}
    index.add([4], vectors[5].reshape(1, 8))  # replaced: 4 now points where 6 does
    assert index.search(query, k=1)[0].key == 99
    assert {n.key for n in index.search(vectors[5], k=2)} == {4, 6}
    assert len(index) == 21


def test_a_reader_keeps_the_rows_it_started_with_while_the_writer_appends() -> None:
    vectors = _units(4_000, seed=2)
    index = VectorIndex(8)
    index.add(range(1, 2_001), vectors[:2_000])
    errors: list[str] = []

    def read() -> None:
        for query in vectors[:200]:
            found = index.search(query, k=3)
            if len({n.key for n in found}) != 3 or found[0].score < found[-1].score:
                errors.append(repr(found))

    reader = threading.Thread(target=read)
    reader.start()
    for start in range(2_000, 4_000, 50):
        index.add(range(start + 1, start + 51), vectors[start : start + 50])
    reader.join()
    assert errors == []
    assert len(index) == 4_000
    assert index.search(vectors[3_999], k=1)[0].key == 4_000


def test_centroids_follow_the_rows_and_k_beyond_the_size_is_everything() -> None:
    vectors = _units(3)
    index = VectorIndex(8)
    index.add([1, 2, 3], vectors, groups=["g", "g", "h"])
    expected = (vectors[0] + vectors[1]) / np.linalg.norm(vectors[0] + vectors[1])
    np.testing.assert_allclose(index.centroid("g"), expected, rtol=1e-5)
    np.testing.assert_allclose(index.centroid("h"), vectors[2], rtol=1e-6)
    assert len(index.search(vectors[0], k=10)) == 3
    assert [n.key for n in index.search(vectors[0], k=10, exclude={1, 2})] == [3]
    assert index.search(vectors[0], k=0) == []


def _questions_like(count: int, seed: int) -> np.ndarray:
    """Unit vectors that, like sentence embeddings, vary mostly along a few directions."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((24, 96)).astype(np.float32)
    vectors = rng.standard_normal((count, 24)).astype(np.float32) @ mixing
    vectors += 0.3 * rng.standard_normal((count, 96)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("full_scan_share", [1, 10**9], ids=["bounds", "every-tail"])
def test_past_the_fit_the_top_k_is_still_exact(monkeypatch, full_scan_share) -> None:
    """Rows rotated and split: ruling rows out by their bound, or scoring every tail, gives
    what a full scan of the vectors as added gives, scores and centroids included."""
    monkeypatch.setattr(vectors, "HEAD", 32)
    monkeypatch.setattr(vectors, "FULL_SCAN_SHARE", full_scan_share)
    stored = _questions_like(FIT_AT + 500, seed=3)
    index = VectorIndex(96)
    index.add(range(1, FIT_AT), stored[: FIT_AT - 1], groups=[key % 7 for key in range(1, FIT_AT)])
    assert index._rows.rotation is None  # not enough rows yet: full scans
    index.add(range(FIT_AT, FIT_AT + 501), stored[FIT_AT - 1 :])
    assert index._rows.rotation is not None and index._rows.head.shape[1] == 32
    near = stored[:20] + 0.05 * _questions_like(20, seed=4)
    far = _questions_like(20, seed=5)  # other directions: few rows can be ruled out
    for query in np.concatenate([near, far]):
        query = query / np.linalg.norm(query)
        found = index.search(query, k=25, exclude={1, 2})
        exact = [key + 1 for key in _exact(stored, query, 27) if key + 1 not in {1, 2}][:25]
        assert [n.key for n in found] == exact
        np.testing.assert_allclose(
            [n.score for n in found], [stored[key - 1] @ query for key in exact], atol=1e-5
        )
    members = stored[: FIT_AT - 1][np.arange(1, FIT_AT) % 7 == 3]
    expected = members.sum(axis=0) / np.linalg.norm(members.sum(axis=0))
    np.testing.assert_allclose(index.centroid(3), expected, atol=1e-5)
    lone = index.centroid(FIT_AT + 10)  # alone in its group: its own vector, un-rotated
    np.testing.assert_allclose(lone, stored[FIT_AT + 9], atol=1e-5)
