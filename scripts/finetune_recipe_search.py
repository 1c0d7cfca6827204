"""How the fine-tuning recipe was chosen: one recipe, trained on folds 1-4 of github-train, scored on fold 0.

Training data only (the 5-fold split ``emocause train --kind finetune`` uses, seed 0); no test split
is read.  Prints one JSON line per run: mean ROC AUC, mean average precision and the mean over
emotions of the best-threshold F1 on fold 0 (docs/models.md has the table of runs).

    python -m scripts.finetune_recipe_search B '{"epochs": 6, "lora_r": 16, "lora_alpha": 32, "learning_rate": 0.001}'
    python -m scripts.finetune_recipe_search C2 '{"epochs": 6, "lora_r": 16, "lora_alpha": 32, "learning_rate": 0.001}' \
        --extra SOEmotion-Train.csv

About 7 minutes per run on one CPU core.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from emocause.backends import finetune as ft
from emocause.backends.baselines import parse_labels

PAPER = Path(os.environ.get("EMOCAUSE_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data" / "paper"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name")
    ap.add_argument("recipe", help="JSON: Recipe fields that differ from the defaults")
    ap.add_argument("--extra", nargs="*", default=[], help="more training files (training splits only)")
    args = ap.parse_args(argv)
    train = pd.read_csv(PAPER / "github-train.csv")
    labels = parse_labels(train, "github-train.csv")
    texts = train["Text"].astype(str).tolist()
    recipe = ft.Recipe(**{"threads": 1, **json.loads(args.recipe)})
    base = ft.load_base(recipe.base)
    ids = ft.tokenize(base.tokenizer, texts, recipe.max_length)
    fold = ft.fold_assignment(labels, ["github"] * len(texts), 5, 0)
    fit_rows, held = np.flatnonzero(fold != 0), np.flatnonzero(fold == 0)
    x, y = [ids[i] for i in fit_rows], labels[fit_rows]
    for name in args.extra:
        if "test" in name.lower():
            raise SystemExit(f"{name}: test splits are never trained on")
        extra = pd.read_csv(PAPER / name)
        x += ft.tokenize(base.tokenizer, extra["Text"].astype(str).tolist(), recipe.max_length)
        y = np.vstack([y, parse_labels(extra, name)])
    t0 = time.time()
    model = ft.fit(base, x, y, recipe)
    seconds = time.time() - t0
    probs = ft.sigmoid(ft.logits(model, [ids[i] for i in held], base.tokenizer.pad_token_id))
    gold = labels[held]
    k = gold.shape[1]
    auc = [roc_auc_score(gold[:, j], probs[:, j]) for j in range(k)]
    ap_ = [average_precision_score(gold[:, j], probs[:, j]) for j in range(k)]
    ones = np.ones(len(held))
    best = [max(ft.weighted_f1(gold[:, j].astype(bool), probs[:, j] >= t, ones) for t in ft.THRESHOLD_GRID)
            for j in range(k)]
    print(json.dumps({"name": args.name, "recipe": json.loads(args.recipe), "extra": args.extra,
                      "n_train": len(x), "seconds": round(seconds), "auc": round(float(np.mean(auc)), 4),
                      "ap": round(float(np.mean(ap_)), 4), "oracle_f1": round(float(np.mean(best)), 4),
                      "f1_each": [round(b, 3) for b in best]}), flush=True)


if __name__ == "__main__":
    main()
