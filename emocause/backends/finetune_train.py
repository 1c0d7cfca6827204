"""The ``emocause train --kind finetune`` job: labelled tables in, a model directory out.

Steps: read and tokenise every labelled table once; K-fold cross-validation
on all of them together (folds stratified by table and emotion) for
out-of-fold probabilities; per-emotion thresholds from those; one final fit on
everything; the artifact (:func:`emocause.backends.finetune.save`).  Only the
training tables are read: a test split must never be passed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emocause.backends import finetune
from emocause.emotions.taxonomy import BASIC
from emocause.errors import UsageError


@dataclass(frozen=True)
class LabeledTable:
    """One labelled table: where it is, its non-empty comments, their 0/1 labels (n x 6, BASIC
    order) and their row positions in the file."""

    path: Path
    texts: list[str]
    labels: np.ndarray
    sha256: str
    rows: int
    positions: list[int]


def read_labeled(path: Path, text_col: str | None = None) -> LabeledTable:
    """A labelled table (text column + the six 0/1 emotion columns); empty texts dropped."""
    from emocause import tables
    from emocause.backends.baselines import parse_labels
    from emocause.files import file_sha256

    df = tables.read_table(path)
    where = str(path)
    column = tables.pick_column(df, text_col, tables.TEXT_COLUMNS, "text", where)
    labels = parse_labels(df, where)
    texts = [tables.as_text(v).strip() for v in df[column].tolist()]
    keep = [i for i, t in enumerate(texts) if t]
    if not keep:
        raise UsageError(f"{where}: column {column!r} has no text to train on")
    return LabeledTable(Path(path), [texts[i] for i in keep], labels[keep],
                        file_sha256(path) or "", len(df), keep)


@dataclass
class FinetuneResult:
    """What a finished training reports: the artifact, thresholds, CV figures, counts."""

    directory: Path
    thresholds: dict[str, float]
    cv: dict[str, Any] | None
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def train(tables: Sequence[LabeledTable], out: Path, recipe: finetune.Recipe, device: str | None = None,
          folds_out: Path | None = None,
          progress: Callable[[str, int, int], None] | None = None) -> FinetuneResult:
    """Cross-validate, choose thresholds, fit on everything, write the artifact to ``out``."""
    from emocause.backends.encoders import check_device

    t0 = time.perf_counter()
    recipe.check("--kind finetune")
    device = check_device(device)
    base = finetune.load_base(recipe.base)
    texts = [t for table in tables for t in table.texts]
    labels = np.vstack([table.labels for table in tables]).astype(np.float32)
    groups = [str(k) for k, table in enumerate(tables) for _ in table.texts]
    positives = labels.sum(axis=0)
    for j, emotion in enumerate(BASIC):
        if positives[j] == 0 or positives[j] == len(labels):
            raise UsageError(f"column {emotion!r}: every comment is labelled {int(labels[0, j])}; "
                             f"training needs both 0 and 1 examples")
    ids = finetune.tokenize(base.tokenizer, texts, recipe.max_length)
    cv = cv_figures = None
    if recipe.folds:
        if min(positives.min(), len(labels) - positives.max()) < recipe.folds:
            raise UsageError(f"too few examples for {recipe.folds}-fold cross-validation; "
                             f"use --cv 0 or more data")
        cv = finetune.cross_validate(base, ids, labels, groups, recipe, device, progress)
        thresholds = finetune.choose_thresholds(cv.probs, labels, recipe.neutral_share)
        cv_figures = finetune.cv_report(cv.probs, labels, thresholds, BASIC, recipe.neutral_share)
        cv_figures["per_table"] = {
            table.path.name: finetune.cv_report(cv.probs[np.array(groups) == str(k)],
                                                labels[np.array(groups) == str(k)], thresholds, BASIC,
                                                recipe.neutral_share)
            for k, table in enumerate(tables)} if len(tables) > 1 else None
        cv_figures["thresholds_by_neutral_share"] = finetune.thresholds_by_neutral_share(
            cv.probs, labels, BASIC)
    else:
        thresholds = np.full(len(BASIC), 0.5)
    model = finetune.fit(base, ids, labels, recipe, device, progress, what="final fit")
    training = {"files": [{"name": t.path.name, "sha256": t.sha256, "rows": len(t.texts)} for t in tables],
                "rows": len(texts),
                "positives": {e: int(p) for e, p in zip(BASIC, positives)},
                "tokens": {"mean": round(float(np.mean([len(x) for x in ids])), 1),
                           "truncated": int(sum(len(x) >= recipe.max_length for x in ids))},
                "device": device.split(":")[0]}
    finetune.save(out, model, base, recipe, thresholds, BASIC, training, cv_figures)
    if folds_out is not None and cv is not None:
        write_folds(folds_out, cv, base, recipe, thresholds, training, tables)
    counts = {"rows": sum(t.rows for t in tables), "trained on": len(texts),
              "skipped (empty)": sum(t.rows - len(t.texts) for t in tables),
              "positives": training["positives"], "truncated": training["tokens"]["truncated"]}
    return FinetuneResult(out, {e: float(t) for e, t in zip(BASIC, thresholds)}, cv_figures, counts,
                          time.perf_counter() - t0)


def write_folds(directory: Path, cv: finetune.CrossValidation, base: finetune.Base,
                recipe: finetune.Recipe, thresholds: np.ndarray, training: dict[str, Any],
                tables: Sequence[LabeledTable]) -> None:
    """Each fold's model (a loadable model directory) and the out-of-fold table, for honest
    evaluation on data the final model was trained on (e.g. cause spans of training comments)."""
    import pandas as pd

    from emocause.files import write_text

    for k, state in enumerate(cv.states):
        model = finetune.build(base, recipe, len(BASIC))
        finetune.load_trained_state(model, state)
        finetune.save(directory / f"fold-{k}", model, base, recipe, thresholds, BASIC,
                      {**training, "fold": k}, None)
    rows = [{"table": table.path.name, "row": table.positions[i], "fold": int(cv.fold[at + i]),
             **{e: float(cv.probs[at + i, j]) for j, e in enumerate(BASIC)}}
            for at, table in zip(np.cumsum([0] + [len(t.texts) for t in tables[:-1]]), tables)
            for i in range(len(table.texts))]
    write_text(directory / "oof.csv", pd.DataFrame(rows).to_csv(index=False))
