"""Clustering time and peak memory: the report's default grouping, the blocked DBSCAN of
``--method paper`` against the paper's full cosine matrix, and a re-run from cached embeddings.

Every (method, size) runs in its own subprocess, so its peak resident memory
(``ru_maxrss``) is its own.  The data are synthetic, seeded, 384-dimensional
unit vectors shaped like sentence embeddings of causes: 40% isolated points
(noise) and 60% in clusters whose sizes follow a power law (a few large
themes, many small ones) and whose spreads vary (pairwise cosine similarity
inside a cluster around 0.67 to 0.89, so DBSCAN with eps 0.3 finds core,
border and noise points).  Embedding is not measured: clustering is.

Methods:

* ``themes``: :func:`emocause.report.clustering.group` with ``method="themes"``
  (what ``emocause report`` runs by default: k-means micro-clusters past 4,000
  distinct causes, average-linkage merging, outliers reassigned, sub-themes);
* ``rerun``: a second report over the same causes with other settings: every
  vector read back from the embedding cache (:class:`emocause.report.embeddings.Embedder`,
  filled beforehand, untimed; the model is never loaded) and grouped as ``themes``;
* ``blocked``: :func:`emocause.report.clustering.dbscan_cosine` (``--method paper``);
* ``paper``: ``cosine_distances`` (n x n) + ``DBSCAN(metric="precomputed")``,
  run only where the n x n matrix fits ``--budget-gb``; for larger n the
  matrix's size is printed instead;
* ``sklearn``: ``DBSCAN(eps=sqrt(2*eps))`` on the normalised vectors
  (neighbour lists, no n x n matrix, but memory grows with the neighbourhoods);
* ``hdbscan``: scikit-learn's HDBSCAN (``--algorithm hdbscan``).

    python -m benchmarks.bench_cluster                       # 10k, 50k, 100k: themes, rerun, blocked
    python -m benchmarks.bench_cluster --sizes 10000 --methods blocked,paper,hdbscan

Prints one row per run and the ratios at the sizes both ran; ``--json`` saves them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

DIM = 384
EPS = 0.3
MIN_SAMPLES = 4


def synthetic(n: int, seed: int = 0, dim: int = DIM, dupes: float = 0.0):  # -> np.ndarray
    """``n`` unit vectors: 40% noise, 60% in power-law-sized clusters of varied spread.

    With ``dupes`` > 0, that fraction of the rows are exact copies of ten
    "template" causes ("Closing as duplicate.", "Please rebase."): what bots
    and copy-pasted maintainer replies look like.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_clustered = int(n * 0.6)
    k = max(1, n // 200)
    weights = 1.0 / np.arange(1, k + 1)
    sizes = rng.multinomial(n_clustered, weights / weights.sum())
    out = np.empty((n, dim), dtype=np.float32)
    pos = 0
    for size in sizes:
        if size == 0:
            continue
        centre = rng.standard_normal(dim).astype(np.float32)
        centre /= np.linalg.norm(centre)
        spread = rng.uniform(0.35, 0.7)  # pairwise cosine ~ 1 / (1 + spread^2)
        z = rng.standard_normal((size, dim)).astype(np.float32) / math.sqrt(dim)
        out[pos:pos + size] = centre + spread * z
        pos += size
    out[pos:] = rng.standard_normal((n - pos, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    n_dupes = int(n * dupes)
    if n_dupes:
        out[:n_dupes] = out[n_dupes:][rng.integers(0, 10, n_dupes)]
    return out[rng.permutation(n)]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child(method: str, n: int, seed: int, dupes: float, limit_gb: float) -> dict:
    """One run in this process: build the data, cluster, report time and memory."""
    import numpy as np

    if limit_gb > 0:  # a runaway method fails with MemoryError instead of swapping the host
        cap = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    X = synthetic(n, seed, dupes=dupes)
    base = _rss_mb()
    t0 = time.perf_counter()
    os.environ.setdefault("EMOCAUSE_PROGRESS", "0")
    extra: dict = {}
    if method == "themes":
        from emocause.report.clustering import auto_min_cluster_size, group

        g = group(X, "themes", min_cluster_size=auto_min_cluster_size(n), description=None)
        labels = g.ids - 1  # themes 0..K-1, "other" -1
        extra = {"coverage": round(float((g.ids >= 1).mean()), 3), "subthemes": len(g.subthemes)}
    elif method == "rerun":
        import tempfile

        from emocause.report.clustering import auto_min_cluster_size, group
        from emocause.report.embeddings import EmbeddingCache, Embedder, text_key

        texts = [f"synthetic cause {i}" for i in range(n)]
        with tempfile.TemporaryDirectory() as tmp:
            cache = EmbeddingCache(f"{tmp}/embeddings.sqlite")
            cache.store(Embedder().identity, [text_key(t) for t in texts], X)
            del X
            base = _rss_mb()
            t0 = time.perf_counter()
            embed = Embedder(None, None, cache)
            X = embed(texts)
            read = time.perf_counter() - t0
            g = group(X, "themes", min_cluster_size=auto_min_cluster_size(n), description=None)
            labels = g.ids - 1
            cache.close()
        assert embed.counts["embedded"] == 0 and embed._loaded is None  # the model never loaded
        extra = {"cache_read_seconds": round(read, 2),
                 "coverage": round(float((g.ids >= 1).mean()), 3)}
    elif method == "blocked":
        from emocause.report.clustering import dbscan_cosine

        labels, core = dbscan_cosine(X, EPS, MIN_SAMPLES)
    elif method == "paper":
        from sklearn.cluster import DBSCAN
        from sklearn.metrics.pairwise import cosine_distances

        D = cosine_distances(X)
        labels = DBSCAN(eps=EPS, min_samples=MIN_SAMPLES, metric="precomputed").fit_predict(D)
        del D
    elif method == "sklearn":
        from sklearn.cluster import DBSCAN

        labels = DBSCAN(eps=math.sqrt(2 * EPS), min_samples=MIN_SAMPLES).fit_predict(X)
    elif method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        labels = HDBSCAN(min_cluster_size=8, min_samples=MIN_SAMPLES).fit_predict(X.astype(np.float64))
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - t0
    labels = np.asarray(labels)
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, int)
    return {"method": method, "n": n, "seconds": round(seconds, 2), "peak_rss_mb": round(_rss_mb(), 1),
            "data_rss_mb": round(base, 1), "clusters": int(len(sizes)),
            "clusters_8plus": int((sizes >= 8).sum()), "noise": int((labels < 0).sum()),
            "largest": int(sizes.max()) if len(sizes) else 0,
            "labels_digest": _digest(labels), **extra}


def _digest(labels) -> str:  # type: ignore[no-untyped-def]
    """Order-free fingerprint of the noise set (for a quick cross-method check)."""
    import hashlib

    import numpy as np

    return hashlib.sha256(np.flatnonzero(labels < 0).tobytes()).hexdigest()[:12]


def _note(row: dict) -> str:
    if "coverage" in row:
        note = f"{100 * row['coverage']:.0f}% in a theme"
        if "cache_read_seconds" in row:
            note += f"; {row['cache_read_seconds']:.1f} s reading the cache"
        return note
    return f"noise {row['labels_digest']}"


def run_child(method: str, n: int, seed: int, timeout: float, dupes: float, limit_gb: float) -> dict:
    cmd = [sys.executable, __file__, "--child", method, str(n), str(seed), str(dupes), str(limit_gb)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"method": method, "n": n, "error": f"timeout after {timeout:.0f}s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        if "MemoryError" in proc.stderr or "Unable to allocate" in proc.stderr:
            tail = f"out of memory under the {limit_gb:g} GB address-space cap ({tail[:80]})"
        return {"method": method, "n": n, "error": f"exit {proc.returncode}: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--methods", default="themes,rerun,blocked,paper")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget-gb", type=float, default=4.0,
                    help="run the paper's method only when its n x n float32 matrix fits this")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--dupes", type=float, default=0.0,
                    help="fraction of rows that are exact copies of ten template causes")
    ap.add_argument("--limit-gb", type=float, default=12.0,
                    help="address-space cap per run (0: none)")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        method, n, seed, dupes, limit = args.child
        print(json.dumps(child(method, int(n), int(seed), float(dupes), float(limit))))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(f"# {os.cpu_count()} CPUs; dim {DIM}; eps {EPS}; min_samples {MIN_SAMPLES}; "
          f"seed {args.seed}; duplicates {args.dupes:.0%}")
    print(f"{'method':<9}{'n':>9}{'seconds':>10}{'peak MB':>10}{'data MB':>10}"
          f"{'clusters':>10}{'8+':>6}{'noise':>9}{'largest':>9}  note (themes: noise = other)")
    rows = []
    for n in sizes:
        for method in methods:
            matrix_gb = n * n * 4 / 2**30
            if method == "paper" and matrix_gb > args.budget_gb:
                row = {"method": method, "n": n, "skipped": True, "matrix_gb": round(matrix_gb, 1)}
                print(f"{method:<9}{n:>9,}{'-':>10}{'-':>10}{'-':>10}{'':>10}{'':>6}{'':>9}{'':>9}  "
                      f"not run: the n x n float32 matrix alone is {matrix_gb:,.1f} GB "
                      f"(> {args.budget_gb:g} GB)")
                rows.append(row)
                continue
            row = run_child(method, n, args.seed, args.timeout, args.dupes, args.limit_gb)
            rows.append(row)
            if "error" in row:
                print(f"{method:<9}{n:>9,}  {row['error']}")
                continue
            print(f"{method:<9}{n:>9,}{row['seconds']:>10.2f}{row['peak_rss_mb']:>10.0f}"
                  f"{row['data_rss_mb']:>10.0f}{row['clusters']:>10,}{row['clusters_8plus']:>6,}"
                  f"{row['noise']:>9,}{row['largest']:>9,}  {_note(row)}")
            sys.stdout.flush()
    done = {(r["method"], r["n"]): r for r in rows if "seconds" in r}
    for n in sizes:
        t, b = done.get(("themes", n)), done.get(("blocked", n))
        if t and b:
            print(f"n={n:,}: themes/blocked time x{t['seconds'] / max(b['seconds'], 1e-9):.2f}, "
                  f"peak memory x{t['peak_rss_mb'] / b['peak_rss_mb']:.2f}")
        r = done.get(("rerun", n))
        if r:
            print(f"n={n:,}: re-run from the embedding cache {r['seconds']:.1f} s "
                  f"({r['cache_read_seconds']:.1f} s reading {n:,} vectors), peak "
                  f"{r['peak_rss_mb']:.0f} MB")
        b, p = done.get(("blocked", n)), done.get(("paper", n))
        if b and p:
            same = "same noise set" if b["labels_digest"] == p["labels_digest"] else "NOISE DIFFERS"
            print(f"n={n:,}: paper/blocked time x{p['seconds'] / max(b['seconds'], 1e-9):.2f}, "
                  f"peak memory x{p['peak_rss_mb'] / b['peak_rss_mb']:.2f}; "
                  f"clusters {p['clusters']} vs {b['clusters']}; {same}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
