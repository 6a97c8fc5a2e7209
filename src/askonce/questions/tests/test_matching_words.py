"""The words a question shares with its nearest earlier questions reorder them; they never
change the confidence that decides "asked before?" (matching.py, lexical.py)."""

import numpy as np

from askonce.questions.lexical import TermWeights, TextLexicon, cosine, terms_of
from askonce.questions.matching import rank_groups
from askonce.questions.vectors import VectorIndex


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(4, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_words_reorder_groups_that_meaning_alone_barely_separates() -> None:
    texts = [
        "why was my card declined at the shop",  # 0, group "declined"
        "card payment declined again",  # 1, group "declined"
        "my card payment is still pending",  # 2, group "pending"
        "pending card payment since yesterday",  # 3, group "pending"
    ]
    index = VectorIndex(4)
    index.add(
        range(4),
        np.stack([_unit(1, 0.30), _unit(1, 0.32), _unit(1, 0.36), _unit(1, 0.38)]),
        groups=["declined", "declined", "pending", "pending"],
    )
    query = _unit(1, 0.31)  # by meaning a shade closer to "declined"
    lexicon = TextLexicon(texts)

    by_meaning = rank_groups(index, query)
    assert by_meaning[0].group == "declined"
    with_words = rank_groups(index, query, text="payment still pending", lexicon=lexicon)
    assert with_words[0].group == "pending"
    # The confidence of a group is the same with or without words: one threshold, one meaning.
    confidence = {group.group: group.confidence for group in by_meaning}
    assert {group.group: group.confidence for group in with_words} == confidence


def test_term_weights_favour_rare_words_and_keep_stop_words() -> None:
    assert terms_of("Why was my card declined?") == ["why", "was", "my", "card", "declined"]
    weights = TermWeights()
    weights.add(["my card", "my pin", "my refund", "my card is lost"])
    query = weights.vector("my refund")
    assert query["refund"] > query["my"] > 0
    assert abs(sum(weight * weight for weight in query.values()) - 1.0) < 1e-9
    assert cosine(query, weights.vector("refund please")) > cosine(query, weights.vector("my pin"))
    assert weights.vector("?") == {}
