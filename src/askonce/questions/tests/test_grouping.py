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


def _topic_questions(count: int, topics: int, seed: int) -> tuple[np.ndarray, list[str], list[int]]:
    """Questions about `topics` things: each topic has its own words and its own direction,
    with wording and embeddings that vary a lot inside a topic."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, 24))
    vocabulary = [[f"tool{topic}x{word}" for word in range(6)] for topic in range(topics)]
    common = ["how", "do", "i", "fix", "the", "error", "with", "my", "setup", "please"]
    vectors, texts, labels = [], [], []
    for index in range(count):
        topic = index % topics
        vectors.append(centres[topic] + rng.normal(scale=1.1, size=24))
        words = list(rng.choice(vocabulary[topic], size=2)) + list(rng.choice(common, size=4))
        texts.append(" ".join(rng.permutation(words)))
        labels.append(topic)
    rows = np.array(vectors, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True), texts, labels


def test_few_questions_or_little_history_group_as_before() -> None:
    from askonce.questions.grouping import MIN_HISTORY, MIN_QUESTIONS, group_questions

    vectors, texts, _ = _topic_questions(MIN_QUESTIONS - 1, 3, seed=1)
    history, history_texts, _ = _topic_questions(MIN_HISTORY, 3, seed=2)
    groups, used = group_questions(vectors, texts, history, history_texts, threshold=0.5)
    assert used == 0.5
    assert groups == group_by_mean_similarity(vectors, threshold=0.5)
    vectors, texts, _ = _topic_questions(MIN_QUESTIONS, 3, seed=1)
    groups, used = group_questions(vectors, texts, history[:10], history_texts[:10], threshold=0.5)
    assert used == 0.5
    assert groups == group_by_mean_similarity(vectors, threshold=0.5)


def test_history_draws_questions_about_one_thing_together() -> None:
    """Embeddings alone at the repeat threshold leave most of these alone; learning the topics'
    words from earlier questions and smoothing over neighbours recovers the topics."""
    from sklearn.metrics import normalized_mutual_info_score

    from askonce.questions.grouping import MAX_THRESHOLD, group_questions

    vectors, texts, labels = _topic_questions(300, 5, seed=3)
    history, history_texts, _ = _topic_questions(1500, 5, seed=4)
    before = group_by_mean_similarity(vectors, threshold=0.5)
    groups, used = group_questions(vectors, texts, history, history_texts, threshold=0.5)
    assert used <= MAX_THRESHOLD
    assert len(groups) == len(vectors) and all(
        groups[groups[row]] == groups[row] for row in range(300)
    )
    assert normalized_mutual_info_score(labels, groups) > 0.9
    assert (
        normalized_mutual_info_score(labels, groups)
        > normalized_mutual_info_score(labels, before) + 0.2
    )
