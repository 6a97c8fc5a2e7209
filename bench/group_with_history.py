"""The regrouping's method rebuilt outside the product, as a cross-check (scipy's linkage).

Average linkage of MiniLM embeddings at the repeat threshold 0.50 grouped the intent-clustering
dev sets with NMI 81.1 (banking) but 59.8 (stackoverflow, whose 20 "intents" are technologies
rather than questions). The method below, found on 2026-11-27, is what the product's
`questions.grouping.group_questions` now runs (docs/questions.md, "Measured quality"); this
script is its first, independent implementation, kept to cross-check the product's figures:

1. TF-IDF (sublinear tf, words of >= 2 documents) and a 30-dimension LSA fitted on the texts of
   a pool of earlier questions (here the `train.tsv` texts of the same set; no labels);
2. each question is `unit([embedding, 0.6 * unit(LSA(text))])`;
3. smoothed over its 10 nearest neighbours among the batch and the pool (pool texts that occur
   in the batch are dropped), 10 times: `z <- unit(0.5 z + 0.5 mean of its neighbours)`;
4. grouped by average linkage (the product's merge rule), stopped at a threshold taken from the
   batch itself: mean + 2.5 standard deviations of its pairwise cosines (the product caps it
   at 0.80, for few well-separated topics; both dev sets stay below: 0.770 and 0.685).

Settings were chosen on train subsamples of dev's size, then run once on dev. Labels are read
only to score (scikit-learn's NMI and ARI). Vectors come from the product's encoder and are
cached in bench/results/.

    .venv/bin/python bench/group_with_history.py            # banking and stackoverflow dev
    .venv/bin/python bench/group_with_history.py --no-pool  # smoothing within the batch only
"""

import argparse
import csv
import hashlib
import re
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import normalize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "intent-clustering"
RESULTS = Path(__file__).resolve().parent / "results"
LEX_WEIGHT, LSA_DIMS, NEIGHBOURS, ALPHA, STEPS, Z = 0.6, 30, 10, 0.5, 10, 2.5
_TOKEN = re.compile(r"[a-z0-9][a-z0-9+#._-]*[a-z0-9+#]|[a-z0-9]")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _read(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def _vectors(texts: list[str]) -> np.ndarray:
    from askonce.search.embeddings import MODEL_NAME, encoder

    digest = hashlib.sha256("\x00".join([MODEL_NAME, *texts]).encode()).hexdigest()[:16]
    cache = RESULTS / f"group-vectors-{len(texts)}-{digest}.npy"
    if cache.exists():
        return np.load(cache)
    model = encoder()
    if model is None:
        raise SystemExit("the embedding model is not installed")
    print(f"  encoding {len(texts):,} texts (once; cached in {cache.name})", file=sys.stderr)
    vectors = model.encode(texts, batch_size=32)
    RESULTS.mkdir(exist_ok=True)
    np.save(cache, vectors)
    return vectors


def _neighbour_mean(rows: np.ndarray, chunk: int = 2000) -> sparse.csr_matrix:
    count = len(rows)
    sources, targets = [], []
    for start in range(0, count, chunk):
        scores = rows[start : start + chunk] @ rows.T
        scores[np.arange(len(scores)), np.arange(start, start + len(scores))] = -9.0
        nearest = np.argpartition(-scores, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
        sources.append(np.repeat(np.arange(start, start + len(scores)), NEIGHBOURS))
        targets.append(nearest.ravel())
    source, target = np.concatenate(sources), np.concatenate(targets)
    weights = np.full(len(source), 1.0 / NEIGHBOURS)
    return sparse.csr_matrix((weights, (source, target)), shape=(count, count))


def group(
    texts: list[str],
    vectors: np.ndarray,
    pool_texts: list[str],
    pool_vectors: np.ndarray,
    *,
    smooth_with_pool: bool = True,
) -> tuple[np.ndarray, float]:
    """Each question's group, and the threshold taken from the batch."""
    seen = set(texts)
    keep = [index for index, text in enumerate(pool_texts) if text not in seen]
    kept_texts = [pool_texts[index] for index in keep]
    tfidf = TfidfVectorizer(tokenizer=_tokens, token_pattern=None, sublinear_tf=True, min_df=2)
    tfidf.fit(pool_texts)
    lsa = TruncatedSVD(LSA_DIMS, random_state=0).fit(tfidf.transform(pool_texts))
    if smooth_with_pool:
        all_texts, all_vectors = list(texts) + kept_texts, np.vstack([vectors, pool_vectors[keep]])
    else:
        all_texts, all_vectors = list(texts), np.asarray(vectors)
    words = normalize(lsa.transform(tfidf.transform(all_texts)))
    rows = normalize(np.hstack([all_vectors, LEX_WEIGHT * words])).astype(np.float32)
    neighbours = _neighbour_mean(rows)
    for _ in range(STEPS):
        rows = normalize((1 - ALPHA) * rows + ALPHA * (neighbours @ rows)).astype(np.float32)
    batch = rows[: len(texts)].astype(np.float64)
    similarity = batch @ batch.T
    upper = similarity[np.triu_indices(len(similarity), 1)]
    threshold = float(upper.mean() + Z * upper.std())
    distance = np.clip(1 - similarity, 0, None)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), "average")
    return fcluster(tree, 1 - threshold, "distance"), threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-pool", action="store_true", help="smooth within the batch only")
    options = parser.parse_args()
    print("| set | questions | groups (true) | threshold | NMI | ARI | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name in ("banking", "stackoverflow"):
        texts, labels = _read(DATA / name / "dev.tsv")
        pool_texts, _ = _read(DATA / name / "train.tsv")  # texts only: labels never read
        vectors, pool_vectors = _vectors(texts), _vectors(pool_texts)
        started = time.perf_counter()
        groups, threshold = group(
            texts, vectors, pool_texts, pool_vectors, smooth_with_pool=not options.no_pool
        )
        seconds = time.perf_counter() - started
        print(
            f"| {name} dev | {len(texts):,} | {len(set(groups))} ({len(set(labels))}) "
            f"| {threshold:.3f} | {100 * normalized_mutual_info_score(labels, groups):.2f} "
            f"| {100 * adjusted_rand_score(labels, groups):.2f} | {seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
