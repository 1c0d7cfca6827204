"""Clustering cause embeddings without ever building an n x n matrix.

Two ways to turn causes into themes (``emocause report --method``):

* ``themes`` (the default): average-linkage agglomerative clustering with
  cosine distance (:func:`agglomerative_cosine`), then every cause outside a
  theme joins the nearest theme when it is similar enough to that theme's
  centre (:func:`assign_themes`), and large themes are split into sub-themes
  (:func:`split_large`).  Most causes land in a named theme; the rest are
  explicitly "other".
* ``paper``: the paper's DBSCAN, below, exactly as the paper ran it.

The paper clusters its causes with DBSCAN on a precomputed pairwise cosine
distance matrix.  That is fine for a thousand causes and impossible for a
project's whole history: the matrix for 100,000 causes is 40 GB of float32.

:func:`dbscan_cosine` gives the same clusters from L2-normalised embeddings in
bounded memory.  For unit vectors, ``cosine_distance <= eps`` is
``dot >= 1 - eps``, so one similarity block ``X[rows] @ X[cols].T`` at a time
(about ``memory_mb`` of it) is enough:

1. **Neighbour counts.**  Blocks of the upper triangle give every point's
   (weighted) number of neighbours within ``eps``, itself included; points with
   at least ``min_samples`` are *core* points.
2. **Core components.**  Blocks of the core x core upper triangle give the
   edges between core points; they are folded into connected components as each
   block is read (a union-find kept as component roots, merged with
   :func:`scipy.sparse.csgraph.connected_components`), so the edge list is
   never stored.
3. **Border points.**  A non-core point with a core neighbour joins the cluster
   of its *nearest* core point; the rest are noise (``-1``).

Core points and noise are exactly DBSCAN's.  A border point within ``eps`` of
two clusters is the one case where DBSCAN itself is order-dependent
(scikit-learn gives it to whichever cluster is expanded first); here it goes to
the nearest core point, which does not depend on the input order.

Identical embeddings (the same cause written many times: "Closing as duplicate
report.") are clustered once with their multiplicity as ``sample_weight``, the
same result scikit-learn gives with the duplicates present.

:func:`hdbscan_cosine` runs scikit-learn's HDBSCAN on the normalised vectors
(euclidean distance there is ``sqrt(2 * cosine distance)``, a monotone
transform, so the single-linkage hierarchy is the cosine one).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emocause.errors import UsageError

#: The paper's settings.
DEFAULT_EPS = 0.3
DEFAULT_MIN_SAMPLES = 4
DEFAULT_MIN_CLUSTER_SIZE = 8  # "clusters with more than 7 members"
ALGORITHMS = ("agglomerative", "dbscan", "hdbscan")
#: ``--method themes``: average-linkage merging stops at this cosine distance (mean pairwise
#: similarity 0.35 between the two groups), and a cause outside every theme joins the nearest
#: theme whose centre it is at least this similar to (see docs/report.md for how they were set).
DEFAULT_THRESHOLD = 0.65
DEFAULT_MIN_SIMILARITY = 0.5
#: Large themes are split again, more tightly, into sub-themes.
SUBTHEME_THRESHOLD = 0.5
#: With --method themes, the smallest theme grows with the number of causes (one in 500 causes,
#: at least DEFAULT_MIN_CLUSTER_SIZE), so 100,000 causes make a readable number of themes.
AUTO_MIN_SHARE = 1 / 500
#: Distinct causes clustered exactly; beyond this, k-means micro-clusters are merged instead,
#: so the pairwise matrix never exceeds MAX_POINTS x MAX_POINTS (64 MB of float32).
MAX_POINTS = 4000

# Cap on (row, column) index pairs materialised at once while folding edges.
_MAX_PAIRS = 2_000_000


@dataclass
class Clustering:
    """Labels per input row: clusters ``0..k-1`` numbered by size (largest first), ``-1`` noise."""

    labels: np.ndarray
    algorithm: str
    params: dict[str, Any]
    seconds: float
    n_unique: int
    core: np.ndarray | None = None  # DBSCAN core points (bool per row); None for HDBSCAN
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    def sizes(self) -> np.ndarray:
        """Rows per cluster, indexed by label (noise excluded)."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.n_clusters)


def normalise(X: np.ndarray) -> np.ndarray:
    """Contiguous float32 rows of unit length (zero rows stay zero)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise UsageError(f"embeddings must be a 2-D array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise UsageError("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(X, axis=1)
    if np.allclose(norms, 1.0, atol=1e-4):
        return X
    norms[norms == 0] = 1.0
    return (X / norms[:, None]).astype(np.float32)


def _fingerprints(X: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """A 64-bit hash of every row's bytes (random odd multipliers, wrapping arithmetic)."""
    words = X.view(np.uint32)
    mult = np.random.default_rng(0x5EED).integers(1, 2**63, size=words.shape[1], dtype=np.uint64) | 1
    out = np.empty(len(X), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for s in range(0, len(X), chunk):
            out[s:s + chunk] = (words[s:s + chunk].astype(np.uint64) * mult).sum(axis=1)
    return out


def unique_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the first copy of each distinct row, inverse map row -> distinct index).

    Rows are grouped by a 64-bit fingerprint and then compared exactly, so a
    hash collision can never merge two different rows (it falls back to a
    byte-wise ``np.unique``, which is exact but about 20 times slower).
    """
    X = np.ascontiguousarray(X)
    if len(X) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    _, first, inverse = np.unique(_fingerprints(X), return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    rep = first[inverse]
    dup = np.flatnonzero(rep != np.arange(len(X)))
    if dup.size == 0 or all(np.array_equal(X[dup[s:s + 8192]], X[rep[dup[s:s + 8192]]])
                            for s in range(0, dup.size, 8192)):
        return first, inverse
    rows = X.view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def block_rows(n_cols: int, memory_mb: float) -> int:
    """Rows per similarity block so that one float32 block plus its mask fits ``memory_mb``."""
    per_row = max(1, n_cols) * 5  # float32 similarity + bool mask
    return int(max(16, min(8192, (memory_mb * 2**20) // per_row)))


def _renumber(roots: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Map arbitrary non-negative cluster keys to 0..k-1 by total weight (ties: first appearance)."""
    out = np.full(len(roots), -1, dtype=np.int64)
    member = roots >= 0
    if not member.any():
        return out
    keys, first, inv = np.unique(roots[member], return_index=True, return_inverse=True)
    sizes = np.bincount(inv, weights=weight[member])
    first_pos = np.flatnonzero(member)[first]
    order = np.lexsort((first_pos, -sizes))  # by size desc, then first appearance
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    out[member] = rank[inv.ravel()]
    return out


def _roots(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Component root (smallest member index) of every node of the graph ``src -- dst``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n)).tocsr()
    _, comp = connected_components(graph, directed=False)
    rep = np.full(comp.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(rep, comp, np.arange(n))
    return rep[comp]


def dbscan_cosine(X: np.ndarray, eps: float = DEFAULT_EPS, min_samples: int = DEFAULT_MIN_SAMPLES,
                  sample_weight: np.ndarray | None = None, memory_mb: float = 256,
                  description: str | None = None,
                  dedup: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN with cosine distance in blocks: (labels by size, core mask), per input row.

    ``X`` should hold L2-normalised rows (it is normalised if not).  Peak extra
    memory is about ``memory_mb`` plus a few arrays of length n, whatever n is.
    ``dedup`` is :func:`unique_rows` of ``X`` when the caller already has it.
    """
    from emocause.progress import bar

    if not 0.0 < eps < 2.0:
        raise UsageError(f"--eps must be a cosine distance between 0 and 2, got {eps}")
    if min_samples < 1:
        raise UsageError(f"--min-samples must be at least 1, got {min_samples}")
    X = normalise(X)
    n = len(X)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    weight = (np.ones(n, dtype=np.float64) if sample_weight is None
              else np.asarray(sample_weight, dtype=np.float64))
    if weight.shape != (n,):
        raise ValueError("sample_weight must have one value per row")

    first, inverse = dedup if dedup is not None else unique_rows(X)
    U = X[first]
    w = np.bincount(inverse, weights=weight, minlength=len(first))
    m = len(U)
    thr = np.float32(1.0 - eps)

    # 1. Weighted and unweighted neighbour counts from the upper triangle.  One float32
    # buffer is reused for every block: the similarities are turned into 0/1 in place
    # and multiplied by [weight, 1] on both sides (rows, and columns beyond the block).
    wcount = np.zeros(m, dtype=np.float64)
    ncount = np.zeros(m, dtype=np.float64)
    b = min(m, block_rows(m, memory_mb))
    buf = np.empty(b * m, dtype=np.float32)
    W2 = np.stack([w.astype(np.float32), np.ones(m, dtype=np.float32)], axis=1)
    with bar(f"{description or 'cluster'}: neighbours", m) as progress:
        for r0 in range(0, m, b):
            r1 = min(m, r0 + b)
            rows, cols = r1 - r0, m - r0
            S = buf[:rows * cols].reshape(rows, cols)
            np.matmul(U[r0:r1], U[r0:].T, out=S)
            np.greater_equal(S, thr, out=S, casting="unsafe")  # 1.0 within eps, else 0.0
            rc = S @ W2[r0:]
            wcount[r0:r1] += rc[:, 0]
            ncount[r0:r1] += rc[:, 1]
            if r1 < m:  # pairs (i in block, j beyond it) count for j as well
                cc = W2[r0:r1].T @ S[:, rows:]
                wcount[r1:] += cc[0]
                ncount[r1:] += cc[1]
            progress.advance(rows)
    del buf
    ncount = np.rint(ncount).astype(np.int64)
    is_core = wcount >= min_samples - 1e-9
    cores = np.flatnonzero(is_core)
    k = len(cores)
    key = np.full(m, -1, dtype=np.int64)
    if k:
        C = U[cores]
        cn = ncount[cores]
        # Border candidates: not core, but with some neighbour besides themselves.
        border = np.flatnonzero(~is_core & (ncount > 1))
        root = np.arange(k, dtype=np.int64)
        with bar(f"{description or 'cluster'}: connect", k + len(border)) as progress:
            # 2. Core components.
            bc = min(k, block_rows(k, memory_mb))
            sbuf = np.empty(bc * k, dtype=np.float32)
            mbuf = np.empty(bc * k, dtype=bool)
            for r0 in range(0, k, bc):
                r1 = min(k, r0 + bc)
                S = sbuf[:(r1 - r0) * (k - r0)].reshape(r1 - r0, k - r0)
                np.matmul(C[r0:r1], C[r0:].T, out=S)
                mask = mbuf[:S.size].reshape(S.shape)
                np.greater_equal(S, thr, out=mask)
                # Sub-chunks so that at most ~_MAX_PAIRS index pairs exist at once; each
                # sub-chunk's edges are folded into the roots before the next is read.
                s0 = r0
                while s0 < r1:
                    s1 = s0 + 1
                    budget = int(cn[s0])
                    while s1 < r1 and budget + cn[s1] <= _MAX_PAIRS:
                        budget += int(cn[s1])
                        s1 += 1
                    rr, cc = np.nonzero(mask[s0 - r0:s1 - r0])
                    a = root[rr + s0]
                    c = root[cc + r0]
                    del rr, cc
                    keep = a != c
                    if keep.any():
                        pairs = np.unique(a[keep] * k + c[keep])
                        nodes = np.arange(k, dtype=np.int64)
                        root = _roots(k, np.concatenate([nodes, pairs // k]),
                                      np.concatenate([root, pairs % k]))
                    s0 = s1
                progress.advance(r1 - r0)
            del sbuf, mbuf, S, mask
            key[cores] = root
            # 3. Border points join their nearest core point's cluster.
            bb = min(max(1, len(border)), block_rows(k, memory_mb))
            sbuf = np.empty(bb * k, dtype=np.float32)
            for r0 in range(0, len(border), bb):
                rows = border[r0:r0 + bb]
                S = sbuf[:len(rows) * k].reshape(len(rows), k)
                np.matmul(U[rows], C.T, out=S)
                best = S.argmax(axis=1)
                ok = S[np.arange(len(rows)), best] >= thr
                key[rows[ok]] = root[best[ok]]
                progress.advance(len(rows))
            del sbuf
    labels_u = _renumber(key, w)
    return labels_u[inverse], is_core[inverse]


def hdbscan_cosine(X: np.ndarray, min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
                   min_samples: int = DEFAULT_MIN_SAMPLES,
                   description: str | None = None) -> np.ndarray:
    """scikit-learn HDBSCAN on normalised vectors; labels renumbered by size (``-1`` noise).

    Memory stays O(n) (tree-based core distances and a Prim's minimum spanning
    tree), but time grows as n^2 in 384 dimensions: see docs/benchmarks.md.
    """
    from sklearn.cluster import HDBSCAN

    from emocause.progress import bar

    if min_cluster_size < 2:
        raise UsageError(f"--min-cluster-size must be at least 2 for HDBSCAN, got {min_cluster_size}")
    X = normalise(X)
    n = len(X)
    if n < 2:
        return np.full(n, -1, dtype=np.int64)
    with bar(f"{description or 'cluster'}: hdbscan", 1) as progress:
        model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min(min_samples, n - 1),
                        metric="euclidean", copy=True)
        raw = model.fit_predict(X.astype(np.float64))
        progress.advance(1)
    keys = np.where(raw >= 0, raw, -1).astype(np.int64)
    return _renumber(keys, np.ones(n))


def agglomerative_cosine(X: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                         max_points: int = MAX_POINTS, seed: int = 0,
                         dedup: tuple[np.ndarray, np.ndarray] | None = None,
                         description: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Average-linkage clusters with cosine distance, cut at ``threshold``; labels by size
(``-1``: a cause left alone, too far from its k-means micro-cluster).

    scikit-learn's :class:`~sklearn.cluster.AgglomerativeClustering` needs the
    pairwise distances of its points, so it is given at most ``max_points``
    points: the distinct causes when there are few enough, else the centres of
    ``max_points`` k-means micro-clusters (:class:`~sklearn.cluster.MiniBatchKMeans`,
    seeded), each cause taking its micro-cluster's label.  Memory is
    O(n + max_points^2) whatever n is.
    """
    from sklearn.cluster import AgglomerativeClustering, MiniBatchKMeans

    from emocause.progress import bar

    if not 0.0 < threshold < 2.0:
        raise UsageError(f"--threshold must be a cosine distance between 0 and 2, got {threshold}")
    X = normalise(X)
    n = len(X)
    info: dict[str, Any] = {"points": 0, "micro_clusters": None}
    if n == 0:
        return np.zeros(0, dtype=np.int64), info
    first, inverse = dedup if dedup is not None else unique_rows(X)
    U = X[first]
    w = np.bincount(inverse, minlength=len(first)).astype(np.float64)
    with bar(f"{description or 'cluster'}: agglomerative", 2) as progress:
        if len(U) > max_points:
            # Random initial centres: k-means++ would take minutes to place thousands of them,
            # and these micro-clusters only need to be small, not optimal.
            km = MiniBatchKMeans(n_clusters=max_points, random_state=seed, n_init=1, init="random",
                                 batch_size=max(4096, 2 * max_points), max_no_improvement=5)
            assign = km.fit_predict(U, sample_weight=w)
            used, assign = np.unique(assign, return_inverse=True)
            points = normalise(km.cluster_centers_[used])
            info["micro_clusters"] = int(len(used))
            # k-means puts every cause somewhere; one farther than ``threshold`` from its
            # micro-cluster's centre would have stayed alone, so it stays alone here too.
            far = np.einsum("ij,ij->i", U, points[assign]) < 1.0 - threshold
        else:
            points, assign = U, np.arange(len(U))
            far = np.zeros(len(U), dtype=bool)
        progress.advance(1)
        info["points"] = int(len(points))
        if len(points) < 2:
            keys = np.zeros(len(points), dtype=np.int64)
        else:
            keys = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                           distance_threshold=threshold).fit_predict(points)
        progress.advance(1)
    info["alone"] = int(far.sum())
    labels_u = _renumber(np.where(far, -1, keys[assign]).astype(np.int64), w)
    return labels_u[inverse], info


def cluster(X: np.ndarray, algorithm: str = "dbscan", eps: float = DEFAULT_EPS,
            min_samples: int = DEFAULT_MIN_SAMPLES,
            min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE, memory_mb: float = 256,
            description: str | None = "cluster", threshold: float = DEFAULT_THRESHOLD,
            max_points: int = MAX_POINTS) -> Clustering:
    """Cluster normalised embeddings with the chosen algorithm; timing and parameters included."""
    algorithm = algorithm.lower()
    if algorithm not in ALGORITHMS:
        raise UsageError(f"unknown clustering algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    X = normalise(X)
    t0 = time.perf_counter()
    dedup = unique_rows(X)
    n_unique = len(dedup[0])
    if algorithm == "dbscan":
        labels, core = dbscan_cosine(X, eps, min_samples, memory_mb=memory_mb,
                                     description=description, dedup=dedup)
        params = {"eps": eps, "metric": "cosine", "min_samples": min_samples,
                  "euclidean_eps": math.sqrt(2 * eps), "memory_mb": memory_mb}
    elif algorithm == "agglomerative":
        labels, extra = agglomerative_cosine(X, threshold, max_points=max_points, dedup=dedup,
                                             description=description)
        core = None
        params = {"linkage": "average", "metric": "cosine", "threshold": threshold,
                  "max_points": max_points, **extra}
    else:
        labels = hdbscan_cosine(X, min_cluster_size, min_samples, description=description)
        core = None
        params = {"min_cluster_size": min_cluster_size, "min_samples": min_samples,
                  "metric": "euclidean on L2-normalised vectors"}
    return Clustering(labels=labels, algorithm=algorithm, params=params,
                      seconds=time.perf_counter() - t0, n_unique=n_unique, core=core)


def reported(labels: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """Report ids ``1..K`` for clusters with at least ``min_cluster_size`` rows, else ``-1``.

    Labels from :func:`cluster` are already ordered by size, so report ids keep
    that order (1 is the largest theme).
    """
    labels = np.asarray(labels)
    out = np.full(len(labels), -1, dtype=np.int64)
    if not labels.size or labels.max() < 0:
        return out
    sizes = np.bincount(labels[labels >= 0])
    big = np.flatnonzero(sizes >= min_cluster_size)
    ids = np.full(len(sizes), -1, dtype=np.int64)
    ids[big] = np.arange(1, len(big) + 1)
    member = labels >= 0
    out[member] = ids[labels[member]]
    return out


def centres(X: np.ndarray, ids: np.ndarray, which: list[int]) -> np.ndarray:
    """The normalised mean vector of every group in ``which`` (rows of ``X`` with that id)."""
    out = np.zeros((len(which), X.shape[1]), dtype=np.float32)
    for k, g in enumerate(which):
        c = X[ids == g].mean(axis=0)
        norm = float(np.linalg.norm(c))
        out[k] = c / norm if norm > 0 else c
    return out


def assign_themes(X: np.ndarray, labels: np.ndarray, min_cluster_size: int,
                  min_similarity: float | None = None,
                  block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """(theme ids ``1..K`` by final size, ``-1`` "other"; which causes were reassigned).

    Themes are the clusters with at least ``min_cluster_size`` causes.  With
    ``min_similarity``, every other cause (noise, or in a smaller cluster) joins
    the theme whose centre is most similar to it, when that cosine similarity
    is at least ``min_similarity`` (BERTopic's outlier reduction by embedding
    similarity).  Without it, the result is :func:`reported`'s.  Memory is
    O(n x K): the similarities are taken ``block`` causes at a time.
    """
    X = normalise(X)
    ids = reported(labels, min_cluster_size)
    moved = np.zeros(len(ids), dtype=bool)
    if min_similarity is None or not (ids >= 1).any():
        return ids, moved
    which = sorted(int(t) for t in np.unique(ids[ids >= 1]))
    C = centres(X, ids, which)
    out = ids.copy()
    outside = np.flatnonzero(ids < 1)
    for s0 in range(0, len(outside), block):
        rows = outside[s0:s0 + block]
        S = X[rows] @ C.T
        best = S.argmax(axis=1)
        ok = S[np.arange(len(rows)), best] >= min_similarity
        out[rows[ok]] = np.asarray(which)[best[ok]]
        moved[rows[ok]] = True
    # Renumber by final size (largest first), keeping "other" as -1.
    member = out >= 1
    renum = _renumber(np.where(member, out, -1), np.ones(len(out)))
    return np.where(member, renum + 1, -1), moved


def split_large(X: np.ndarray, ids: np.ndarray, min_size: int, min_cluster_size: int,
                threshold: float = SUBTHEME_THRESHOLD,
                min_similarity: float | None = DEFAULT_MIN_SIMILARITY) -> dict[int, np.ndarray]:
    """Sub-themes of every theme with at least ``min_size`` causes: ``{theme: sub id per member}``.

    A theme's causes are clustered again, more tightly (average linkage cut at
    ``threshold``); sub-clusters of ``min_cluster_size`` or more are sub-themes
    ``1..k`` (by size), and the rest join the most similar one as in
    :func:`assign_themes`, or stay ``-1``.  Themes that do not split into at
    least two sub-themes are left out.  Member order is ``np.flatnonzero(ids == theme)``.
    """
    out: dict[int, np.ndarray] = {}
    X = normalise(X)
    for theme in sorted(int(t) for t in np.unique(ids[ids >= 1])):
        members = np.flatnonzero(ids == theme)
        if len(members) < min_size:
            continue
        sub, _ = agglomerative_cosine(X[members], threshold)
        sub_ids, _ = assign_themes(X[members], sub, min_cluster_size, min_similarity)
        if len(np.unique(sub_ids[sub_ids >= 1])) >= 2:
            out[theme] = sub_ids
    return out


METHODS = ("themes", "paper")


def auto_min_cluster_size(n: int, method: str = "themes") -> int:
    """The default smallest theme: the paper's 8, or one in 500 causes with ``themes``."""
    if method == "paper":
        return DEFAULT_MIN_CLUSTER_SIZE
    return max(DEFAULT_MIN_CLUSTER_SIZE, math.ceil(n * AUTO_MIN_SHARE))


@dataclass
class Grouping:
    """Causes grouped into themes: the raw clustering, the theme of every cause, sub-themes."""

    clustering: Clustering
    ids: np.ndarray  # theme 1..K per cause (largest first), -1 "other"
    reassigned: np.ndarray  # bool: joined its theme by similarity, not by the clustering
    subthemes: dict[int, np.ndarray]  # theme -> sub-theme 1..k (or -1) per member, in row order
    method: str
    params: dict[str, Any] = field(default_factory=dict)


def group(X: np.ndarray, method: str = "themes", algorithm: str | None = None,
          eps: float = DEFAULT_EPS, min_samples: int = DEFAULT_MIN_SAMPLES,
          min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE, threshold: float = DEFAULT_THRESHOLD,
          min_similarity: float | None = DEFAULT_MIN_SIMILARITY, subtheme_min: int | None = None,
          description: str | None = "cluster") -> Grouping:
    """Themes for ``X`` by ``method``: ``themes`` (agglomerative unless ``algorithm`` says
    otherwise, outliers reassigned) or ``paper`` (DBSCAN, no reassignment: the paper's clusters).

    Themes of ``subtheme_min`` causes or more (default: 40, or 5 x ``min_cluster_size``)
    get sub-themes of at least half ``min_cluster_size`` causes.
    """
    if method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "paper":
        if algorithm not in (None, "dbscan"):
            raise UsageError("--method paper is the paper's DBSCAN; use --method themes with "
                             f"--algorithm {algorithm}")
        algorithm, min_similarity = "dbscan", None
    algorithm = (algorithm or "agglomerative").lower()
    if min_similarity is not None and not -1.0 <= min_similarity <= 1.0:
        raise UsageError(f"--min-similarity is a cosine similarity between -1 and 1, got {min_similarity}")
    result = cluster(X, algorithm, eps, min_samples, min_cluster_size, description=description,
                     threshold=threshold)
    t0 = time.perf_counter()
    ids, moved = assign_themes(X, result.labels, min_cluster_size, min_similarity)
    large = subtheme_min or max(40, 5 * min_cluster_size)
    sub_size = max(3, min_cluster_size // 2)
    subs = split_large(X, ids, large, sub_size, min_similarity=min_similarity)
    result.seconds += time.perf_counter() - t0
    params = {"method": method, "algorithm": algorithm, "min_cluster_size": min_cluster_size,
              "min_similarity": min_similarity, "subtheme_min_causes": large,
              "subtheme_min_cluster_size": sub_size, "subtheme_threshold": SUBTHEME_THRESHOLD}
    return Grouping(clustering=result, ids=ids, reassigned=moved, subthemes=subs, method=method,
                    params=params)
