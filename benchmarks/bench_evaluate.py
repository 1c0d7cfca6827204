#!/usr/bin/env python3
"""Time the evaluation metrics: vectorised bootstrap vs a plain per-resample loop.

    python -m benchmarks.bench_evaluate [--paper-dir ../shared/data/paper] [--resamples 1000] [--repeat 5]

Prints, for the paper's data (400 GitHub test rows x 6 emotions; 450 cause spans):
the emotion report with intervals (vectorised) against recomputing scikit-learn's
precision_recall_fscore_support on every resample, and the cause-span evaluation
in both BLEU modes.  Best of --repeat runs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paper-dir", default=str(ROOT.parent / "shared" / "data" / "paper"))
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from sklearn.metrics import precision_recall_fscore_support

    from emocause.evaluate import labels

    from emocause.evaluate import metrics

    from emocause.evaluate import spans as span_metrics

    from emocause.emotions import taxonomy
    from emocause.tables import read_table

    paper, B = Path(args.paper_dir), args.resamples
    gold = read_table(paper / "github-test.csv")
    pred = read_table(paper / "github-test-granular-level-prompting.csv")
    join = labels.join_rows(gold, pred, None, "gold", "pred")
    y = labels.label_matrix(gold.iloc[join.gold_rows], labels.parse_spec(gold, None, "gold", "gold"),
                            taxonomy.BASIC).matrix
    p = labels.label_matrix(pred.iloc[join.pred_rows], labels.parse_spec(pred, "GPT-4-mapped", "pred", "pred"),
                            taxonomy.BASIC).matrix
    n = len(y)

    def vectorised():
        w = metrics.resample_weights(n, B, 0)
        metrics.multilabel_intervals(y, p, taxonomy.BASIC, w)

    def loop():
        idx = np.random.default_rng(0).integers(0, n, size=(B, n))
        f = np.array([precision_recall_fscore_support(y[i], p[i], average=None, zero_division=0)[2] for i in idx])
        np.quantile(f, [0.025, 0.975], axis=0)

    t_vec = best(vectorised, args.repeat)
    t_loop = best(loop, max(1, args.repeat // 5))
    print(f"emotions: {n} rows x {y.shape[1]} labels, {B} resamples")
    print(f"  vectorised (all P/R/F1 per label + macro + micro): {t_vec * 1e3:8.1f} ms")
    print(f"  sklearn loop (per-label F1 only):                  {t_loop * 1e3:8.1f} ms")
    print(f"  speed-up: {t_loop / t_vec:.0f}x")

    causes = read_table(paper / "causes.csv")
    refs = read_table(paper / "manual_causes.csv").set_index("id")["Cause Span"].loc[causes["id"]].tolist()
    hyps, texts = causes["GPT-4"].tolist(), causes["modified_comment"].tolist()
    print(f"causes: {len(refs)} spans, {B} resamples (includes grounding every span)")
    for mode in ("paper", "word"):
        t0 = best(lambda: span_metrics.evaluate_spans(refs, hyps, mode, texts, 0, 0), args.repeat)
        t1 = best(lambda: span_metrics.evaluate_spans(refs, hyps, mode, texts, B, 0), args.repeat)
        print(f"  {mode:5s} mode: no bootstrap {t0 * 1e3:7.1f} ms, with bootstrap {t1 * 1e3:7.1f} ms "
              f"(bootstrap share {(t1 - t0) * 1e3:6.1f} ms)")


if __name__ == "__main__":
    main()
