"""The cascade (``--gate``): LLM calls saved, and the LLM's emotional rows kept, on the paper's test split.

"The LLM" is GPT-4 as the paper released it: ``GPT-4-All-Pred-Actual`` of
``github-test-granular-level-prompting.csv``, parsed with emocause's all-levels parser; a row is
emotional when the answer maps to one of the six basic emotions.  The gate is trained on
``github-train.csv`` only, and its threshold is chosen there too (out-of-fold scores of a 5-fold
cross-validation, the highest threshold that keeps the target share of the *gold* emotional
training comments; ``emocause calibrate-gate``).  The test split is only scored, never used to
choose anything.  Each row of the table is one calibration target, all chosen on training data.

    python -m benchmarks.bench_cascade
    python -m benchmarks.bench_cascade --targets 0.95 0.98 --gate trained:path/to/model
    python -m benchmarks.bench_cascade --gate tfidf-svm default --oof FOLDS/oof.csv  # + the shipped model
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("EMOCAUSE_PROGRESS", "0")

from emocause.annotate import gate  # noqa: E402
from emocause.annotate.prompts import load  # noqa: E402
from emocause.backends import baselines  # noqa: E402
from emocause.emotions.answers import parse_answer  # noqa: E402
from emocause.emotions.taxonomy import BASIC  # noqa: E402

SHARED = Path(os.environ.get("EMOCAUSE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PAPER = SHARED / "data" / "paper"


def llm_emotional(test: pd.DataFrame) -> np.ndarray:
    """Whether GPT-4 (the paper's released all-levels answers) named an emotion, per test row."""
    answers = pd.read_csv(PAPER / "github-test-granular-level-prompting.csv").set_index("id")
    labels = load("all-levels").labels
    raw = answers.loc[test["id"], "GPT-4-All-Pred-Actual"]
    return np.array([parse_answer(None if pd.isna(a) else str(a), labels).basic in BASIC for a in raw])


def gate_scores(spec: str, train: pd.DataFrame, test: pd.DataFrame, folds: int, seed: int,
                oof: Path | None = None):
    """(training scores for calibration, test scores, what the gate is) for one gate."""
    texts = train["Text"].astype(str).str.strip().tolist()
    labels = baselines.parse_labels(train, "github-train.csv")
    if spec == "tfidf-svm":
        model = baselines.fit(texts, labels, "tfidf-svm", seed=seed)
        oof = gate.out_of_fold_scores(texts, labels, "tfidf-svm", folds, seed)
        return oof, baselines.decision(model, test["Text"].astype(str).tolist()), \
            f"tfidf-svm, {folds}-fold out-of-fold scores on github-train"
    backend = gate.gate_backend(spec)
    try:
        test_scores = gate.emotion_scores(backend, test["Text"].astype(str).tolist())
        if oof is not None:  # out-of-fold probabilities of the model's own cross-validation
            from emocause.backends.finetune import logit

            table = pd.read_csv(oof)
            table = table[table["table"] == "github-train.csv"].set_index("row")
            probs = np.full((len(train), len(BASIC)), 0.5)
            probs[table.index.to_numpy()] = table[list(BASIC)].to_numpy()
            kept = np.zeros(len(train), dtype=bool)
            kept[table.index.to_numpy()] = True
            train_scores = logit(probs) - np.asarray(backend.thresholds)
            train_scores[~kept] = -np.inf  # empty texts: never trained on, never emotional
            how = f"{spec}, out-of-fold scores of its {oof.parent.name} cross-validation on github-train"
        else:
            train_scores = gate.emotion_scores(backend, texts)
            how = f"{spec}, its own scores on github-train (in-sample)"
    finally:
        backend.close()
    return train_scores, test_scores, how


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=float, nargs="+", default=[0.90, 0.95, 0.98, 0.99],
                    help="shares of the gold emotional TRAINING comments the threshold keeps")
    ap.add_argument("--gate", nargs="+", default=["tfidf-svm"],
                    help="tfidf-svm (trained here), or a gate spec: DIR, BACKEND:MODEL, default")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--oof", type=Path, default=None,
                    help="oof.csv of a fine-tuned gate's --folds-out: calibrate on out-of-fold scores")
    args = ap.parse_args(argv)
    train = pd.read_csv(PAPER / "github-train.csv")
    test = pd.read_csv(PAPER / "github-test.csv")
    llm = llm_emotional(test)
    gold = baselines.parse_labels(test, "github-test.csv").any(axis=1)
    train_gold = baselines.parse_labels(train, "github-train.csv").any(axis=1)
    print(f"test split: {len(test)} rows; GPT-4 (all-levels) names an emotion in {llm.sum()} "
          f"({llm.mean():.1%}); gold: {gold.sum()} emotional")
    for spec in args.gate:
        train_scores, test_scores, how = gate_scores(spec, train, test, args.folds, args.seed,
                                                    args.oof if spec != "tfidf-svm" else None)
        print(f"\ngate: {how}")
        print(f"{'target (train)':>15} {'threshold':>10} {'LLM calls saved':>16} {'LLM-emotional kept':>19} "
              f"{'gold-emotional kept':>20}")
        best = test_scores.max(axis=1)
        for target in args.targets:
            t = gate.threshold_for(train_scores, train_gold, target)
            passed = best >= t
            print(f"{target:>15.0%} {t:>10.4f} {1 - passed.mean():>16.1%} {passed[llm].mean():>19.1%} "
                  f"{passed[gold].mean():>20.1%}")
        neutral_llm = ~llm
        print(f"   (the LLM's own neutral rows: {neutral_llm.sum()}; a perfect gate would save "
              f"{neutral_llm.mean():.1%} of the calls at 100% recall)")


if __name__ == "__main__":
    main()
