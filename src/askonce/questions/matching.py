"""How a new question is matched to earlier ones: the nearest earlier questions, grouped by
what they ask (in the product: the question they repeat, or the article that answered them),
each group scored on one scale so that one threshold means the same thing for every query.

`askonce eval` measures exactly this function on public labelled sets.
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from askonce.questions.vectors import VectorIndex

OUT_OF_SCOPE = "__out_of_scope__"
# Neighbours looked at per query: enough for a group's second-best match to count.
NEIGHBOURS = 10


@dataclass(frozen=True)
class GroupScore:
    group: Hashable
    score: float  # cosine-like, 0..1: the group's evidence that it asks the same thing
    best_key: int
    support: int  # how many of the neighbours are in this group


def rank_groups(
    index: VectorIndex,
    vector: np.ndarray,
    *,
    group_of: Callable[[int], Hashable],
    exclude: set[int] | None = None,
    neighbours: int = NEIGHBOURS,
) -> list[GroupScore]:
    """Groups of the nearest earlier questions, best first."""
    found = index.search(vector, k=neighbours, exclude=exclude)
    best: dict[Hashable, tuple[float, int]] = {}
    support: dict[Hashable, int] = {}
    for neighbour in found:
        group = group_of(neighbour.key)
        support[group] = support.get(group, 0) + 1
        if group not in best:
            best[group] = (neighbour.score, neighbour.key)
    ranked = [
        GroupScore(group=group, score=score, best_key=key, support=support[group])
        for group, (score, key) in best.items()
    ]
    ranked.sort(key=lambda g: (g.score, g.support), reverse=True)
    return ranked
