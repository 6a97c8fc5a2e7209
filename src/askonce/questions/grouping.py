"""Which questions ask the same thing, with no count of groups given. `group_questions` is what
the worker's regrouping (consolidation.py) and `askonce eval --task group` call: with enough
questions and earlier questions it learns the words' topics from the earlier ones, smooths each
question towards its neighbours and cuts at a threshold read from the questions themselves
(below); otherwise, and as its last step, average-linkage grouping stopped at a similarity
threshold (`group_by_mean_similarity`).

In `group_by_mean_similarity` two groups merge while the mean cosine over every pair of their
questions (one from each) is at least the threshold, the best pair first. With few questions
the product passes its repeat threshold (ASKONCE_QUESTION_REPEAT_THRESHOLD): a group is
questions that are, on average, as alike as a repeat must be to its group. Measured
(docs/questions.md, "Measured quality"): alone, on the raw embeddings, this reached NMI 81.1 on
the banking intent-clustering dev set but 59.8 on stackoverflow, whose groups are technologies
rather than repeated questions; `group_questions` with the train texts as earlier questions
reaches 84.5 and 81.3.

For unit vectors the mean pairwise cosine of groups A and B is sum(A) . sum(B) / (|A| |B|), so
a group is its vector sum and its size. The merge order is found with the nearest-neighbour
chain (average linkage is reducible: merging two groups never brings a third closer than it
was to one of them), so the work is O(n^2 d) with O(n d) memory, not an n x n matrix.
"""

import re

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


# Grouping with the help of earlier questions (docs/questions.md, "Grouping"). Chosen on train
# subsamples of the intent-clustering sets, then measured once on their dev splits.
TOPIC_DIMENSIONS = 30  # LSA dimensions of the words
WORD_WEIGHT = 0.6  # of the words' topic beside the sentence embedding
NEIGHBOURS = 10
PULL = 0.5  # share of the neighbours' mean in each smoothing step
STEPS = 10
SPREAD = 2.5  # threshold = mean + SPREAD standard deviations of the batch's similarities
MIN_QUESTIONS = 200  # fewer: the batch's own spread of similarities says too little
MIN_HISTORY = 1_000  # fewer earlier questions: too few to learn which words go together
# The spread rule assumes many groups. With a few well-separated topics the similarities are
# two humps and mean + SPREAD sd passes 1 (nothing would merge at all): capped here, above what
# either dev set gives (banking 0.77, stackoverflow 0.685), so they are unchanged by it.
MAX_THRESHOLD = 0.80
_TOKEN = re.compile(r"[a-z0-9][a-z0-9+#._-]*[a-z0-9+#]|[a-z0-9]")


def group_questions(
    vectors: np.ndarray,
    texts: list[str],
    history_vectors: np.ndarray,
    history_texts: list[str],
    *,
    threshold: float,
) -> tuple[list[int], float]:
    """Each question's group (named by its first row, as group_by_mean_similarity names them)
    and the threshold used: what the worker's regrouping and `askonce eval --task group` run.

    With MIN_QUESTIONS questions or more and MIN_HISTORY earlier questions (not among them):
    1. the words' topics are learnt from the earlier questions (TF-IDF, then LSA);
    2. each question becomes its embedding beside its words' topic, and is pulled towards its
       nearest neighbours among the questions and the earlier ones, STEPS times, so questions
       about one thing draw together even where their wording differs;
    3. average linkage (group_by_mean_similarity) on those, stopped at a threshold read from
       the questions themselves: SPREAD standard deviations above their mean similarity. One
       fixed number cannot do that: two neighbouring banking intents are more alike than two
       questions about one programming tool.
    With fewer, average linkage of the embeddings at `threshold`, as before.
    """
    count = len(vectors)
    if count < MIN_QUESTIONS or len(history_texts) < MIN_HISTORY:
        return group_by_mean_similarity(vectors, threshold=threshold), threshold
    rows = _smoothed(vectors, texts, history_vectors, history_texts)
    mean, deviation = _spread(rows)
    chosen = min(mean + SPREAD * deviation, MAX_THRESHOLD)
    return group_by_mean_similarity(rows, threshold=chosen), chosen


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _unit(rows: np.ndarray) -> np.ndarray:
    """The rows scaled to length 1, as float32: in place when they are float32 already."""
    rows = rows.astype(np.float32, copy=False)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows /= np.where(norms == 0, 1, norms)
    return rows


def _smoothed(
    vectors: np.ndarray, texts: list[str], history_vectors: np.ndarray, history_texts: list[str]
) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(tokenizer=_tokens, token_pattern=None, sublinear_tf=True, min_df=2)
    fitted = words.fit_transform(history_texts)
    topics = TruncatedSVD(TOPIC_DIMENSIONS, random_state=0).fit(fitted)
    asked = set(texts)
    kept = [row for row, text in enumerate(history_texts) if text not in asked]
    every_text = list(texts) + [history_texts[row] for row in kept]
    dimension = vectors.shape[1]
    # One array for everything: the embedding, then the words' topic, per row.
    rows = np.empty((len(every_text), dimension + TOPIC_DIMENSIONS), dtype=np.float32)
    rows[: len(vectors), :dimension] = vectors
    rows[len(vectors) :, :dimension] = history_vectors[kept]
    rows[:, dimension:] = WORD_WEIGHT * _unit(topics.transform(words.transform(every_text)))
    rows = _unit(rows)
    nearest = _nearest(rows)
    # Two arrays of the rows' size besides the rows (17,000 questions: ~28 MB each), no more.
    pulled, neighbour = np.empty_like(rows), np.empty_like(rows)
    for _ in range(STEPS):
        np.multiply(rows, (1 - PULL) * NEIGHBOURS / PULL, out=pulled)
        for column in range(NEIGHBOURS):
            np.take(rows, nearest[:, column], axis=0, out=neighbour)
            pulled += neighbour
        rows, pulled = _unit(pulled), rows  # the same direction as (1-PULL) z + PULL mean
    return rows[: len(vectors)]


def _nearest(rows: np.ndarray, chunk: int = 128) -> np.ndarray:
    """Each row's NEIGHBOURS most similar other rows (indices), in chunks of rows."""
    nearest = np.empty((len(rows), NEIGHBOURS), dtype=np.int64)
    for start in range(0, len(rows), chunk):
        scores = rows[start : start + chunk] @ rows.T
        scores[np.arange(len(scores)), np.arange(start, start + len(scores))] = -np.inf
        nearest[start : start + len(scores)] = np.argpartition(scores, -NEIGHBOURS, axis=1)[
            :, -NEIGHBOURS:
        ]
    return nearest


def _spread(rows: np.ndarray, chunk: int = 128) -> tuple[float, float]:
    """Mean and standard deviation of the similarity of every pair of distinct rows."""
    total = squares = 0.0
    for start in range(0, len(rows), chunk):
        scores = (rows[start : start + chunk] @ rows.T).astype(np.float64)
        total += float(scores.sum())
        squares += float(np.square(scores).sum())
    # Every pair was counted twice, and each row with itself once: take those out.
    own = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
    pairs = len(rows) * (len(rows) - 1)
    mean = (total - float(own.sum())) / pairs
    mean_square = (squares - float(np.square(own).sum())) / pairs
    return mean, float(np.sqrt(max(mean_square - mean * mean, 0.0)))
