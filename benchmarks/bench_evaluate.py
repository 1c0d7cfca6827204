#!/usr/bin/env python3
"""Time the evaluation library: vectorised bootstrap vs a per-resample loop, and at scale.

    python -m benchmarks.bench_evaluate [--paper-dir ../shared/data/paper] [--resamples 1000]
                                        [--repeat 5] [--rows 1000000]

Prints, through :func:`emocause.score_emotions` / :func:`emocause.score_causes`:

* the paper's data (400 GitHub test rows x 6 emotions; 450 cause spans): the
  bootstrap share of a full emotion report against recomputing scikit-learn's
  precision_recall_fscore_support on every resample, and the cause-span
  evaluation in both BLEU modes;
* raw answers (the paper's 400 GPT-4 answers, ``--answers all-levels``) against
  the same rows already mapped;
* ``--rows`` synthetic rows of raw answers: time, rows per second and peak traced
  memory of a full report with ``--resamples`` intervals, against the memory the
  multiplicity matrix would take if held whole.  Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def paper_figures(paper: Path, B: int, repeat: int) -> None:
    from sklearn.metrics import precision_recall_fscore_support

    from emocause.emotions.taxonomy import BASIC
    from emocause.evaluate import labels
    from emocause.evaluate.scoring import score_causes, score_emotions
    from emocause.tables import read_table

    gold = read_table(paper / "github-test.csv")
    pred = read_table(paper / "github-test-granular-level-prompting.csv")

    def report(boot: int, **kw):
        return score_emotions(gold, pred, bootstrap=boot, seed=0, **kw)

    t0 = best(lambda: report(0, pred_col="GPT-4-mapped"), repeat)
    t1 = best(lambda: report(B, pred_col="GPT-4-mapped"), repeat)
    join = labels.join_rows(gold, pred, None, "gold", "pred")
    y = labels.label_matrix(gold.iloc[join.gold_rows], labels.parse_spec(gold, None, "gold", "gold"), BASIC).matrix
    p = labels.label_matrix(pred.iloc[join.pred_rows], labels.parse_spec(pred, "GPT-4-mapped", "pred", "pred"),
                            BASIC).matrix
    n = len(y)

    def loop():
        idx = np.random.default_rng(0).integers(0, n, size=(B, n))
        f = np.array([precision_recall_fscore_support(y[i], p[i], average=None, zero_division=0)[2] for i in idx])
        np.quantile(f, [0.025, 0.975], axis=0)

    t_loop = best(loop, max(1, repeat // 5))
    print(f"emotions: {n} rows x {len(BASIC)} labels, {B} resamples (score_emotions)")
    print(f"  report without intervals:                          {t0 * 1e3:8.1f} ms")
    print(f"  report with intervals (all P/R/F1 + macro + micro): {t1 * 1e3:8.1f} ms "
          f"(bootstrap share {(t1 - t0) * 1e3:.1f} ms)")
    print(f"  sklearn loop (per-label F1 only):                   {t_loop * 1e3:8.1f} ms")
    print(f"  speed-up of the bootstrap share: {t_loop / max(t1 - t0, 1e-9):.0f}x")
    t_raw = best(lambda: report(0, pred_col="GPT-4-All-Pred-Actual", answers="all-levels"), repeat)
    print(f"  raw answers (--answers all-levels), no intervals:   {t_raw * 1e3:8.1f} ms "
          f"({t_raw / t0:.2f}x the mapped column)")

    gold_c, pred_c = paper / "manual_causes.csv", paper / "causes.csv"
    print(f"causes: 450 spans, {B} resamples (score_causes; includes grounding every span)")
    for mode in ("paper", "word"):
        c0 = best(lambda: score_causes(gold_c, pred_c, pred_col="GPT-4", mode=mode, bootstrap=0), repeat)
        c1 = best(lambda: score_causes(gold_c, pred_c, pred_col="GPT-4", mode=mode, bootstrap=B), repeat)
        print(f"  {mode:5s} mode: no bootstrap {c0 * 1e3:7.1f} ms, with bootstrap {c1 * 1e3:7.1f} ms "
              f"(bootstrap share {(c1 - c0) * 1e3:6.1f} ms)")


def at_scale(rows: int, B: int) -> None:
    from emocause.emotions.taxonomy import BASIC, LABEL_SETS
    from emocause.evaluate.scoring import score_emotions

    rng = np.random.default_rng(0)
    answers = np.array([*LABEL_SETS["all-levels"], "Neutral", "Gratitude.", "Appreciation", "confused"])
    ids = np.arange(rows)
    gold = pd.DataFrame({"id": ids, **{e: (rng.random(rows) < 0.15).astype(int) for e in BASIC}})
    pred = pd.DataFrame({"id": ids, "answer": answers[rng.integers(0, len(answers), rows)]})
    tracemalloc.start()
    t = time.perf_counter()
    s = score_emotions(gold, pred, pred_col="answer", answers="all-levels", bootstrap=B, seed=0)
    secs = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole = B * rows * 8
    print(f"scale: {rows:,} rows of raw answers, {B} resamples (score_emotions, DataFrames in memory)")
    print(f"  {secs:6.1f} s, {rows / secs:,.0f} rows/s; macro-F1 {s.report['macro']['f1']:.3f}")
    print(f"  peak traced memory {peak / 2**20:,.0f} MiB; the whole multiplicity matrix would be "
          f"{whole / 2**20:,.0f} MiB ({whole / max(peak, 1):.0f}x)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paper-dir", default=str(ROOT.parent / "shared" / "data" / "paper"))
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rows", type=int, default=1_000_000, help="synthetic rows for the scale run (0: skip)")
    args = ap.parse_args()
    paper_figures(Path(args.paper_dir), args.resamples, args.repeat)
    if args.rows:
        at_scale(args.rows, args.resamples)


if __name__ == "__main__":
    main()
