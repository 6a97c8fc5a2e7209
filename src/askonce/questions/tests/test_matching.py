"""The vector index and the matching function, on hand-made vectors."""

import numpy as np

from askonce.questions.matching import rank_groups
from askonce.questions.vectors import VectorIndex


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(4, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_nearest_first_with_exclusions_and_replacement() -> None:
    index = VectorIndex(4)
    index.add([1, 2, 3], np.stack([_unit(1, 0), _unit(0, 1), _unit(1, 1)]))
    found = index.search(_unit(1, 0.1), k=2)
    assert [n.key for n in found] == [1, 3]
    assert found[0].score > found[1].score
    assert [n.key for n in index.search(_unit(1, 0.1), k=2, exclude={1})] == [3, 2]
    index.add([1], _unit(0, 0, 1).reshape(1, 4))  # replaced, not added
    assert len(index) == 3
    assert index.search(_unit(0, 0, 1), k=1)[0].key == 1
    assert VectorIndex(4).search(_unit(1), k=3) == []


def test_centroids_are_kept_per_group_without_a_sum_for_singletons() -> None:
    index = VectorIndex(4)
    index.add(
        [1, 2, 3], np.stack([_unit(1, 0), _unit(0, 1), _unit(0, 0, 1)]), groups=["a", "a", "b"]
    )
    assert np.allclose(index.centroid("a"), _unit(1, 1), atol=1e-3)
    assert np.allclose(index.centroid("b"), _unit(0, 0, 1), atol=1e-3)
    assert index.centroid("nope") is None
    assert index.group_of(2) == "a"
    assert "b" not in index._group_sum  # one member: its own vector is its centroid


def test_a_group_of_several_close_members_outranks_one_lucky_neighbour() -> None:
    index = VectorIndex(4)
    lucky = _unit(1, 0.30)
    crowd = [_unit(1, 0.35, 0.05), _unit(1, 0.36, -0.05), _unit(1, 0.4)]
    index.add([1, 2, 3, 4], np.stack([lucky, *crowd]), groups=["lucky", "crowd", "crowd", "crowd"])
    ranked = rank_groups(index, _unit(1, 0.31))
    assert ranked[0].group == "crowd"
    assert ranked[0].support == 3
    assert ranked[1].group == "lucky"
    assert ranked[1].best_similarity > ranked[0].best_similarity
    # Confidence: half the best member, half the centroid; both near 1 here.
    assert 0.98 < ranked[0].confidence <= 1.0
