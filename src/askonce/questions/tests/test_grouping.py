"""Grouping questions by average linkage (grouping.py), on hand-made vectors."""

import numpy as np
import pytest

from askonce.questions.grouping import group_by_mean_similarity


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(4, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_groups_are_named_by_their_first_question_and_strays_stay_alone() -> None:
    rows = np.stack(
        [
            _unit(1, 0.1),  # 0: cards
            _unit(0, 1, 0.1),  # 1: rates
            _unit(1, 0.2),  # 2: cards
            _unit(0, 0, 0, 1),  # 3: something else entirely
            _unit(0.1, 1),  # 4: rates
            _unit(1, 0, 0.1),  # 5: cards
        ]
    )
    assert group_by_mean_similarity(rows, threshold=0.5) == [0, 1, 0, 3, 1, 0]
    assert group_by_mean_similarity(rows[:0], threshold=0.5) == []
    assert group_by_mean_similarity(rows[:1], threshold=0.5) == [0]


def test_two_groups_merge_only_when_their_mean_similarity_reaches_the_threshold() -> None:
    # b is close to c, and c to a, but a and b are far apart: the mean over the pairs across
    # the two groups decides, not the closest pair (which would chain everything together).
    a, c, b = _unit(1, 0), _unit(1, 0.8), _unit(0.2, 1)
    rows = np.stack([a, c, b])
    assert float(a @ c) > float(b @ c)  # a and c merge first
    across = (float(a @ b) + float(c @ b)) / 2
    assert across < float(b @ c)
    assert group_by_mean_similarity(rows, threshold=across - 0.01) == [0, 0, 0]
    assert group_by_mean_similarity(rows, threshold=across + 0.01) == [0, 0, 2]


def test_the_same_partition_as_scipy_average_linkage() -> None:
    """The nearest-neighbour chain gives exactly the dendrogram cut of textbook average
    linkage (scipy) at distance 1 - threshold."""
    hierarchy = pytest.importorskip("scipy.cluster.hierarchy")
    distance = pytest.importorskip("scipy.spatial.distance")
    generator = np.random.default_rng(5)
    centres = generator.normal(size=(6, 16))
    rows = np.repeat(centres, 12, axis=0) + generator.normal(scale=0.9, size=(72, 16))
    rows = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    tree = hierarchy.linkage(distance.pdist(rows.astype(np.float64), "cosine"), "average")
    for threshold in (0.2, 0.35, 0.5, 0.7):
        expected = hierarchy.fcluster(tree, 1 - threshold, "distance")
        grouped = group_by_mean_similarity(rows, threshold=threshold)
        pairs_expected = expected[:, None] == expected[None, :]
        pairs_grouped = np.asarray(grouped)[:, None] == np.asarray(grouped)[None, :]
        assert (pairs_expected == pairs_grouped).all(), threshold
