"""Which questions ask the same thing, with no count of groups given: average-linkage grouping
of their embeddings, stopped at a similarity threshold. `askonce eval --task group` and the
worker's regrouping (consolidation.py) call the same function.

Two groups merge while the mean cosine over every pair of their questions (one from each) is at
least the threshold, the best pair first. The product passes its repeat threshold
(ASKONCE_QUESTION_REPEAT_THRESHOLD): a group is questions that are, on average, as alike as a
repeat must be to its group. Measured (docs/questions.md, "Measured quality"): on the banking
intent-clustering dev set this groups 1,000 questions into 114 groups (77 intents) with NMI
81.1; the one pass in arrival order that links repeats at index time reached 66.6, because a
question that joins a group at first sight is never reconsidered.

For unit vectors the mean pairwise cosine of groups A and B is sum(A) . sum(B) / (|A| |B|), so
a group is its vector sum and its size. The merge order is found with the nearest-neighbour
chain (average linkage is reducible: merging two groups never brings a third closer than it
was to one of them), so the work is O(n^2 d) with O(n d) memory, not an n x n matrix.
"""

import numpy as np


def group_by_mean_similarity(vectors: np.ndarray, *, threshold: float) -> list[int]:
    """Each row's group, named by the first row of the group (rows in the order they were
    asked: the name is the first asking). Rows must be unit length."""
    count = len(vectors)
    if count == 0:
        return []
    # The groups still open, packed at the front of `sums`/`sizes`/`names` (a finished group is
    # swapped out), so each search scores only the groups that can still merge.
    sums = np.array(vectors, dtype=np.float32).reshape(count, -1)
    sizes = np.ones(count, dtype=np.float32)
    names = np.arange(count)
    slot_of = {row: row for row in range(count)}
    open_count = count
    merged_into = np.arange(count)

    def close(name: int) -> None:
        nonlocal open_count
        slot, last = slot_of.pop(name), open_count - 1
        if slot != last:
            sums[slot], sizes[slot], names[slot] = sums[last], sizes[last], names[last]
            slot_of[int(names[slot])] = slot
        open_count = last

    chain: list[int] = []  # group names, each the best match of the one before
    while open_count:
        if not chain:
            chain.append(int(names[:open_count].min()))
        top = slot_of[chain[-1]]
        scores = (sums[:open_count] @ sums[top]) / (sizes[:open_count] * sizes[top])
        scores[top] = -np.inf
        if open_count == 1:  # the last group left: nothing to merge with
            close(chain.pop())
            continue
        nearest = int(np.argmax(scores))
        # Ties go to the group before on the chain, so the chain cannot cycle.
        previous = slot_of[chain[-2]] if len(chain) > 1 else None
        if previous is None or scores[previous] < scores[nearest]:
            chain.append(int(names[nearest]))
            continue
        best = float(scores[previous])
        second, first = chain.pop(), chain.pop()
        if best < threshold:
            # Each is the other's best match and that is below the threshold: neither can ever
            # reach it (a merged group's mean is between its parts'), so both are final.
            close(first)
            close(second)
            continue
        keep, gone = min(first, second), max(first, second)
        sums[slot_of[keep]] += sums[slot_of[gone]]
        sizes[slot_of[keep]] += sizes[slot_of[gone]]
        merged_into[gone] = keep
        close(gone)
    groups = []
    for row in range(count):
        group = row
        while merged_into[group] != group:
            group = int(merged_into[group])
        groups.append(group)
    return groups
